import { settledWithin, TIMED_OUT } from "../sync/time_limit.ts";

/** Another process holds the data directory's lock, and did not let go within the wait. */
export class DataDirInUse extends Error {
  override name = "DataDirInUse";
  constructor(readonly lockPath: string, readonly holderPid: number | null) {
    super(`${lockPath} is held by ${anotherProcess(holderPid)}`);
  }
}

/** "another process (pid 42)", or without the pid when the lock file did not name one. */
export function anotherProcess(pid: number | null): string {
  return `another process${pid === null ? "" : ` (pid ${pid})`}`;
}

/**
 * Holds `lockPath` with an exclusive lock (flock) until the returned release runs, or the
 * process ends; the holder's pid is written in it for the next one's message. Waits up to
 * `waitMs` for a holder to let go, calling `onWait` once if it has to wait at all.
 *
 * Why: PGlite is Postgres inside this process, with no guard against a second process. A
 * second service on the same directory started, recovered from what was on disk (it did not
 * see a device the first had just registered) and served, both writing the same files: lost
 * writes and a corrupt database. The lock is released by the OS when the process ends, so a
 * crash leaves nothing stale behind.
 */
export async function lockDataDir(
  lockPath: string,
  { waitMs, onWait }: { waitMs: number; onWait?: (holderPid: number | null) => void },
): Promise<() => void> {
  const file = await Deno.open(lockPath, { read: true, write: true, create: true });
  try {
    const locking = file.lock(true);
    if (await settledWithin(locking, 50) === TIMED_OUT) {
      onWait?.(await holderOf(lockPath));
      if (await settledWithin(locking, waitMs) === TIMED_OUT) {
        throw new DataDirInUse(lockPath, await holderOf(lockPath));
      }
    }
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (error) {
    // must: closed, so a lock granted after this gave up is let go with the file.
    file.close();
    throw error;
  }
  let held = true;
  return () => {
    if (held) file.close();
    held = false;
  };
}

async function holderOf(lockPath: string): Promise<number | null> {
  const text = await Deno.readTextFile(lockPath).catch(() => "");
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}
