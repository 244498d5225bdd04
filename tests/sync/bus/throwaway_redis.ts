/** A redis-server of the test's own, for tests that stop and restart Redis. */
import { freePort } from "../../support/cluster.ts";
import { onFreshPorts, redisProcess } from "../../support/redis_process.ts";

/** A running (or stopped) throwaway Redis on a fixed port. */
export interface ThrowawayRedis extends AsyncDisposable {
  url: string;
  /** Kills the server, as a crash would; resolves once it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers. */
  start(): Promise<void>;
}

/** Starts `redis-server` on a free port, without persistence. */
export function startThrowawayRedis(): Promise<ThrowawayRedis> {
  return onFreshPorts(tryStartThrowawayRedis);
}

async function tryStartThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = freePort();
  const logfile = await Deno.makeTempFile({ prefix: "devpocket-redis-", suffix: ".log" });
  const server = redisProcess(port, logfile);
  // The log only matters while a start fails; a restart writes it again.
  const stop = async () => {
    await server.stop();
    await Deno.remove(logfile).catch(() => {});
  };
  try {
    await server.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start: server.start,
    [Symbol.asyncDispose]: stop,
  };
}
