import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { MemoryTrimmer, trimNativeMemory } from "../../sync/memory_trim.ts";
import { eventually } from "../support/eventually.ts";

const MB = 1024 * 1024;

/** A trimmer on `intervalSeconds` that records its looks, trims and collections in order. */
function recordingTrimmer(
  intervalSeconds: number,
  collect: (calls: string[]) => Promise<void> = (
    calls,
  ) => (calls.push("collect"), Promise.resolve()),
) {
  const calls: string[] = [];
  const trimmer = new MemoryTrimmer(
    intervalSeconds,
    () => (calls.push("look"), 0),
    () => calls.push("trim"),
    () => collect(calls),
  );
  return { trimmer, calls };
}

Deno.test("the trimmer trims at its first look, then only when the RSS grew 1 MB or more since the last", () => {
  const readings = [300, 300, 300.5, 302, 290, 290, 295].map((mb) => mb * MB);
  const trims: number[] = [];
  let look = 0;
  const trimmer = new MemoryTrimmer(3, () => readings[look], () => trims.push(look));
  for (; look < readings.length; look++) trimmer.check();
  assert.deepEqual(trims, [0, 3, 6]);
});

Deno.test("a trimmer with interval 0 neither collects, trims nor starts a timer", async () => {
  const { trimmer, calls } = recordingTrimmer(0);
  await trimmer.start();
  trimmer.stop();
  assert.deepEqual(calls, []);
});

Deno.test("start collects garbage, then trims, before it returns and before any look", async () => {
  const { trimmer, calls } = recordingTrimmer(60, async (calls) => {
    await null;
    calls.push("collect");
  });
  await trimmer.start();
  trimmer.stop();
  assert.deepEqual(calls, ["collect", "trim"]);
});

Deno.test({
  name: "trimNativeMemory gives memory freed by the allocator back to the OS (glibc)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // 180 MB of 60 KB buffers (malloc'd, below glibc's mmap threshold), every tenth kept:
    // freed, the rest stays resident inside the allocator's heap.
    const kept = Array.from({ length: 3000 }, () => new Uint8Array(60_000).fill(1))
      .filter((_, i) => i % 10 === 0);
    v8.setFlagsFromString("--expose-gc");
    vm.runInNewContext("gc")();
    // Backing stores are freed by tasks after the collection.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = Deno.memoryUsage().rss;
    trimNativeMemory();
    await eventually(() => Deno.memoryUsage().rss < before - 100 * MB, 10_000, "the trim");
    assert.equal(kept.length, 300);
  },
});

Deno.test("a collection that fails does not stop start: it still trims and then looks every interval", async () => {
  const { trimmer, calls } = recordingTrimmer(
    0.02,
    () => Promise.reject(new Error("--expose-gc refused")),
  );
  await trimmer.start();
  await eventually(() => calls.includes("look"), 2_000, "a look");
  trimmer.stop();
  assert.deepEqual(calls.slice(0, 2), ["trim", "look"]);
});

Deno.test("start's full collection frees buffers nothing references any more", async () => {
  const held: Uint8Array[] = [new Uint8Array(64 * MB).fill(1)];
  const before = Deno.memoryUsage().external;
  held.pop();
  const trimmer = new MemoryTrimmer(60, () => 0, () => {});
  await trimmer.start();
  trimmer.stop();
  assert.ok(
    Deno.memoryUsage().external < before - 60 * MB,
    `external memory ${before / MB} MB before, ${Deno.memoryUsage().external / MB} MB after`,
  );
});
