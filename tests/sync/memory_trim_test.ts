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
  const trimmer = new MemoryTrimmer(intervalSeconds, {
    rss: () => (calls.push("look"), 0),
    trim: () => calls.push("trim"),
    collect: () => collect(calls),
  });
  return { trimmer, calls };
}

/**
 * The looks at which a trimmer trims, given the RSS (MB) and the work done (Metrics.work)
 * that each look reads, as `[mb, work]`.
 */
function trimsAt(looks: Array<[mb: number, work: number]>): number[] {
  const trims: number[] = [];
  let look = 0;
  const trimmer = new MemoryTrimmer(1, {
    rss: () => looks[look][0] * MB,
    work: () => looks[look][1],
    trim: () => trims.push(look),
  });
  for (; look < looks.length; look++) trimmer.check();
  return trims;
}

const quiet = (...mbs: number[]) => mbs.map((mb): [number, number] => [mb, 0]);

Deno.test("quiet, the trimmer trims once the RSS stands 1 MB or more above where the last trim left it", () => {
  // Look 0 reads where start's trim left the RSS (300); look 4 reads where the trim of look 3
  // left it (290), so 290.5 is not worth one, 291.5 is.
  assert.deepEqual(trimsAt(quiet(300, 300.5, 300.9, 301, 290, 290.5, 291.5)), [3, 6]);
});

Deno.test("a trim that gave nothing back leaves the RSS as the new floor: a quiet trimmer does not trim at every look", () => {
  assert.deepEqual(trimsAt(quiet(300, 302, 302, 302, 302.5, 303.5)), [1, 5]);
});

Deno.test("the floor follows the RSS down: growth counts from the lowest RSS since the last trim", () => {
  assert.deepEqual(trimsAt(quiet(300, 280, 280.5, 281.2)), [3]);
});

Deno.test("under load (the work done moves between looks) only 16 MB above the floor is worth a trim; the first quiet look trims what built up", () => {
  const looks: Array<[number, number]> = [
    [300, 0],
    [305, 50],
    [315, 100],
    [315.9, 150],
    [316, 200], // 16 MB above the floor, under load
    [302, 250], // where that trim left it
    [310, 300],
    [310, 300], // quiet: 8 MB above the floor
    [302, 300],
  ];
  assert.deepEqual(trimsAt(looks), [4, 7]);
});

Deno.test("a floor read under load is trimmed at the first quiet look, though the RSS did not grow: what the load freed as it ended", () => {
  const looks: Array<[number, number]> = [
    [300, 0],
    [305, 50],
    [316, 100], // 16 MB above the floor, under load
    [318, 150], // the floor, read under load: buffers in flight are part of it
    [318, 200],
    [318, 200], // quiet, no growth: what the load used is free, still resident
    [300, 200], // where that trim left it, read quiet
    [300, 200],
    [300.5, 200],
  ];
  assert.deepEqual(trimsAt(looks), [2, 5]);
});

Deno.test("light load between quiet looks trims nothing while its floor was read quiet", () => {
  const looks: Array<[number, number]> = [
    [300, 0],
    [300.2, 1],
    [300.2, 1],
    [300.4, 2],
    [300.4, 2],
    [300.6, 3],
  ];
  assert.deepEqual(trimsAt(looks), []);
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

/**
 * External memory with a 64 MB buffer, which is dropped before this returns. In a function of
 * its own: an async test's suspended frame may keep a dropped value in one of its registers.
 */
function externalWithDroppedBuffer(): number {
  const held: Uint8Array[] = [new Uint8Array(64 * MB).fill(1)];
  const external = Deno.memoryUsage().external;
  held.pop();
  return external;
}

Deno.test("start's full collection frees buffers nothing references any more", async () => {
  const before = externalWithDroppedBuffer();
  const trimmer = new MemoryTrimmer(60, { rss: () => 0, trim: () => {} });
  await trimmer.start();
  trimmer.stop();
  assert.ok(
    Deno.memoryUsage().external < before - 60 * MB,
    `external memory ${before / MB} MB before, ${Deno.memoryUsage().external / MB} MB after`,
  );
});

Deno.test("a trim that throws ends neither start nor the looks: the next look that is worth one tries again", async () => {
  let look = 0;
  const tries: number[] = [];
  const readings = [300, 302, 303, 305].map((mb) => mb * MB);
  const trimmer = new MemoryTrimmer(60, {
    rss: () => readings[look],
    trim: () => {
      tries.push(look);
      throw new Error("Worker refused");
    },
    collect: () => Promise.resolve(),
  });
  await trimmer.start();
  for (; look < readings.length; look++) trimmer.check();
  trimmer.stop();
  // Start's trim (at look 0), then look 1 (2 MB above 300); look 2 reads the new floor, 303;
  // look 3 is 2 MB above it.
  assert.deepEqual(tries, [0, 1, 3]);
});
