/// <reference lib="deno.worker" />
/** The Worker of `fresh_isolate.ts`: runs the benchmark module it is sent, answers its lines and figures. */
import { takeFigures } from "./report.ts";

self.onmessage = async (event: MessageEvent<string>) => {
  try {
    const bench: { run(): Promise<string[]> } = await import(event.data);
    const lines = await bench.run();
    self.postMessage({ lines, figures: takeFigures() });
  } catch (error) {
    self.postMessage({
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
  }
};
