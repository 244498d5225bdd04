/** A redis-server child process on a fixed port, which a test may kill and start again. */
import { answers } from "./cluster.ts";

export interface RedisProcess {
  /** Starts the server; resolves once it answers PING. */
  start(): Promise<void>;
  /** Kills it, as a crash would; resolves once it is gone. */
  stop(): Promise<void>;
}

/** A server without persistence on 127.0.0.1:`port`, logging to `logfile`. */
export function redisProcess(port: number, logfile: string, args: string[] = []): RedisProcess {
  let child: Deno.ChildProcess | undefined;
  let exited = false;
  return {
    async start() {
      try {
        child = new Deno.Command("redis-server", {
          args: [
            ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            ...["--logfile", logfile, ...args],
          ],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new Error(
            "redis-server not found. Install it with `apt-get install redis-server`.",
          );
        }
        throw error;
      }
      exited = false;
      child.status.then(() => exited = true);
      const deadline = Date.now() + 5_000;
      while (!(await answers(port))) {
        // Its own log says why (its port taken meanwhile, say); killing it later would only throw.
        if (exited) {
          throw new RedisExited(port, await logTail(logfile));
        }
        if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (!child) return;
      if (!exited) child.kill("SIGKILL");
      await child.status;
      child = undefined;
    },
  };
}

/** A server that exited while starting: its port (or its cluster bus port) taken, say. */
export class RedisExited extends Error {
  constructor(port: number, log: string) {
    super(`redis-server on port ${port} exited: ${log}`);
  }
}

/**
 * `start` again, up to three times in all, when a server it starts exits at once: a port
 * found free can be taken before the server binds it (by any process's outgoing
 * connection, whose ports come from the same range), and `start` picks new ones.
 */
export async function onFreshPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof RedisExited) || attempt === 3) throw error;
    }
  }
}

async function logTail(path: string): Promise<string> {
  const log = await Deno.readTextFile(path).catch((error) => `(no log: ${error})`);
  return log.trim().split("\n").slice(-3).join(" | ");
}
