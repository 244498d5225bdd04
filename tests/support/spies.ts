/** Watching what code under test does, without standing in for it. */
import { createLogger, type Logger, type LogLevel } from "../../sync/logger.ts";

/**
 * `target` behind a proxy that counts the calls of the methods named, e.g. the store's
 * reads or a driver's statements. Everything else passes through untouched.
 */
export function countingCalls<T extends object, K extends string>(
  target: T,
  names: readonly K[],
): { proxy: T; calls: Record<K, number> } {
  const calls = Object.fromEntries(names.map((name) => [name, 0])) as Record<K, number>;
  const proxy = new Proxy(target, {
    get(target, name, receiver) {
      if ((names as readonly (string | symbol)[]).includes(name)) calls[name as K]++;
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { proxy, calls };
}

/** A logger at `level` that keeps every line it writes, for tests that read logs. */
export function capturedLogs(level: LogLevel = "debug"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger(level, (line) => lines.push(line)), lines };
}
