/**
 * A benchmark run in a Worker: a V8 isolate of its own, fresh on every run.
 *
 * For CPU micro-benchmarks (merges, the privacy filter): in the bench's own isolate they ran
 * behind every other benchmark of the round, whose service code had already called the same
 * functions with other shapes of data; the engine's type feedback then differed between the
 * first round and the second (fieldMerge of the same object: 4.5 µs in the first round of
 * `--repeat 2`, 8.3 µs in the second). A fresh isolate measures the same thing every round.
 */
import { type Figure, figure } from "./report.ts";

type Answer = { lines: string[]; figures: Figure[] } | { error: string };

/** `module`: a benchmark module's URL; its `run()` runs in the Worker, its figures are recorded here. */
export function inFreshIsolate(module: URL): { run(): Promise<string[]> } {
  return {
    async run() {
      const worker = new Worker(new URL("./isolate_main.ts", import.meta.url), { type: "module" });
      try {
        const answer = await new Promise<Answer>((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<Answer>) => resolve(event.data);
          worker.onerror = (event) => {
            event.preventDefault();
            reject(
              new Error(`Benchmark ${module.pathname} failed in its Worker: ${event.message}`),
            );
          };
          worker.postMessage(module.href);
        });
        if ("error" in answer) throw new Error(answer.error);
        for (const recorded of answer.figures) figure(recorded);
        return answer.lines;
      } finally {
        worker.terminate();
      }
    },
  };
}
