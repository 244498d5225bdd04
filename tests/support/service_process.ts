/** The service in a child process, started by the command a deployment runs. */
import { freePort } from "./cluster.ts";
import { eventually } from "./eventually.ts";

/** A running service process. */
export interface ServiceProcess extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  url: string;
  child: Deno.ChildProcess;
  /** Its exit status, once it ended. */
  status: Promise<Deno.CommandStatus>;
  /** Its last 200 lines of stdout and stderr. */
  logs: string[];
}

/** What a child Deno needs of this process's environment to find itself and its cache. */
const PASSED_THROUGH = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"];

/** PATH, HOME and Deno's cache location from this process: the base of a clean child env. */
export function passedThroughEnv(): Record<string, string> {
  const base: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  return base;
}
const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Runs `command` (default `deno task start`; `deno` is this Deno) in the repository root
 * with exactly `env` (plus PATH, HOME and Deno's cache location) and PORT set to a free
 * port; resolves once `/ready` answers 200. Disposing sends SIGTERM, then SIGKILL after 15 s.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  command: readonly string[] = ["deno", "task", "start"],
): Promise<ServiceProcess> {
  const port = freePort();
  const [program, ...args] = command;
  const child = new Deno.Command(program === "deno" ? Deno.execPath() : program, {
    args,
    cwd: ROOT,
    env: { ...passedThroughEnv(), ...env, PORT: String(port) },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logs: string[] = [];
  const keep = (line: string) => {
    logs.push(line);
    if (logs.length > 200) logs.shift();
  };
  const reading = Promise.all([readLines(child.stdout, keep), readLines(child.stderr, keep)]);
  let exited = false;
  const status = child.status.then(async (status) => {
    exited = true;
    await reading;
    return status;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      status.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 15_000)),
    ]);
    clearTimeout(timer);
    if (!ended && !exited) child.kill("SIGKILL");
    await status;
  };
  try {
    await eventually(
      async () => {
        if (exited) throw new Error(`The service exited before it was ready:\n${logs.join("\n")}`);
        const res = await fetch(`${url}/ready`).catch(() => null);
        await res?.body?.cancel();
        return res?.status === 200;
      },
      60_000,
      `${url}/ready to answer 200`,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${logs.join("\n")}`);
  }
  return { url, child, status, logs, [Symbol.asyncDispose]: stop };
}

/** Calls `onLine` for each line of `stream` until it ends. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (rest) onLine(rest);
}
