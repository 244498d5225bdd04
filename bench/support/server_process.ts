/** Starts `server_main.ts` in a child process and talks to it. */
import { disabledFeatures, taskEnv, TASKS, v8Flags } from "../../tests/support/deno_tasks.ts";
import { passedThroughEnv, readLines } from "../../tests/support/service_process.ts";
import { sleep } from "./stats.ts";

/** `Deno.memoryUsage()` of the child, after a full GC. */
export interface ServerMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

export interface ServerProcess extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  url: string;
  pid: number;
  memory(): Promise<ServerMemory>;
}

const SCRIPT = new URL("./server_main.ts", import.meta.url).pathname;
/**
 * The V8 flags, Deno features turned off and environment `deno task start` runs with, so RSS
 * is measured as deployed; and a GC to call.
 */
const V8_FLAGS = [...v8Flags(TASKS.start), "--expose-gc"].join(",");
const DISABLED = disabledFeatures(TASKS.start);
const START_ENV = taskEnv(TASKS.start);

/**
 * Spawns the server (`service`, `bare` or `plain`: server_main.ts) with exactly `env` (plus
 * PATH/HOME and what `deno task start` sets); resolves once it listens. Disposing sends
 * SIGTERM, and SIGKILL if it has not exited 5 s later.
 */
export async function startServer(
  mode: "service" | "bare" | "plain",
  env: Record<string, string>,
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...DISABLED, `--v8-flags=${V8_FLAGS}`, SCRIPT, mode],
    env: { ...passedThroughEnv(), ...START_ENV, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const drainErr = readLines(child.stderr, (line) => {
    stderr.push(line);
    if (stderr.length > 20) stderr.shift();
  });
  const ready = Promise.withResolvers<string>();
  const drainOut = readLines(child.stdout, (line) => {
    try {
      const parsed = JSON.parse(line);
      if (typeof parsed.url === "string") ready.resolve(parsed.url);
    } catch {
      // Not the ready line.
    }
  });
  const status = child.status;
  let exited = false;
  void status.then(() => {
    exited = true;
    ready.reject(
      new Error(`Bench server (${mode}) exited before listening:\n${stderr.join("\n")}`),
    );
  });
  const timer = setTimeout(
    () => ready.reject(new Error(`Bench server (${mode}) did not listen within 60 s`)),
    60_000,
  );
  let url: string;
  try {
    url = await ready.promise;
  } catch (error) {
    if (!exited) child.kill("SIGKILL");
    await status;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    pid: child.pid,
    async memory() {
      const res = await fetch(`${url}/__bench/memory`);
      return await res.json();
    },
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGTERM");
      const killed = await Promise.race([status.then(() => true), sleep(5_000).then(() => false)]);
      if (!killed && !exited) child.kill("SIGKILL");
      await status;
      await Promise.all([drainOut, drainErr]);
    },
  };
}
