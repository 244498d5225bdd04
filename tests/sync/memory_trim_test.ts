import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { MemoryTrimmer, trimNativeMemory } from "../../sync/memory_trim.ts";
import { eventually } from "../support/eventually.ts";

const MB = 1024 * 1024;

Deno.test("the trimmer trims at its first look, then only when the RSS grew 1 MB or more since the last", () => {
  const readings = [300, 300, 300.5, 302, 290, 290, 295].map((mb) => mb * MB);
  const trims: number[] = [];
  let look = 0;
  const trimmer = new MemoryTrimmer(3, () => readings[look], () => trims.push(look));
  for (; look < readings.length; look++) trimmer.check();
  assert.deepEqual(trims, [0, 3, 6]);
});

Deno.test("a trimmer with interval 0 starts no timer", () => {
  let looks = 0;
  const trimmer = new MemoryTrimmer(0, () => looks++, () => {});
  trimmer.start();
  trimmer.stop();
  assert.equal(looks, 0);
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
