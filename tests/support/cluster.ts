/** Throwaway Postgres and Redis servers for the test and bench commands. */

/** A service the harness may have started; `stop` is absent for one it only found. */
export interface Service {
  url: string;
  stop?: () => Promise<void>;
}

/**
 * Runs `cleanup` before the process exits on Ctrl-C or SIGTERM, so an interrupted run
 * leaves no throwaway server behind.
 */
export function cleanUpOnInterrupt(cleanup: () => Promise<void>): void {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    Deno.addSignalListener(signal, () => void cleanup().finally(() => Deno.exit(code)));
  }
}

/**
 * Starts a Postgres cluster with wal_level=logical in a temp dir on a free port.
 * wal_sender_timeout is 10 s (60 s by default), so the frozen-holder drill
 * (tests/e2e/frozen_holder_test.ts) sees the server end a silent walsender in test time.
 */
export async function startPostgres(): Promise<Service> {
  const bin = await postgresBinDir();
  const dir = await Deno.makeTempDir({ prefix: "devpocket-pg-" });
  const asRoot = Deno.uid() === 0;
  if (asRoot) await run("chown", ["-R", "postgres:postgres", dir]);
  const pgRun = (cmd: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", `${bin}/${cmd}`, ...args])
      : run(`${bin}/${cmd}`, args);
  const port = freePort();
  await pgRun("initdb", [
    "-D",
    `${dir}/data`,
    "-U",
    "postgres",
    "-A",
    "trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c wal_level=logical",
    "-c max_replication_slots=32",
    "-c max_wal_senders=32",
    "-c wal_sender_timeout=10s",
    "-c max_connections=300",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
  ].join(" ");
  await pgRun("pg_ctl", ["-D", `${dir}/data`, "-o", options, "-l", `${dir}/log`, "-w", "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pgRun("pg_ctl", ["-D", `${dir}/data`, "-m", "immediate", "stop"]).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Finds Redis at 127.0.0.1:6379, else starts a throwaway redis-server. */
export async function startRedis(): Promise<Service> {
  if (await answers(6379)) return { url: "redis://127.0.0.1:6379" };
  if (Deno.env.get("CI") === "true") {
    throw new Error("Redis is not answering on 127.0.0.1:6379 (CI expects it running)");
  }
  const port = freePort();
  await run("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "yes",
    "--pidfile",
    `/tmp/devpocket-redis-${port}.pid`,
  ], "Install it with `apt-get install redis-server`.");
  for (let i = 0; i < 50 && !(await answers(port)); i++) await sleep(100);
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const pid = await Deno.readTextFile(`/tmp/devpocket-redis-${port}.pid`).catch(() => "");
      if (pid.trim()) Deno.kill(Number(pid.trim()), "SIGTERM");
    },
  };
}

async function postgresBinDir(): Promise<string> {
  const candidates: string[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      candidates.push(`/usr/lib/postgresql/${entry.name}/bin`);
    }
  } catch {
    // No PostgreSQL installed: reported below.
  }
  candidates.sort((a, b) => Number(b.split("/")[3]) - Number(a.split("/")[3]));
  for (const dir of candidates) {
    if (await exists(`${dir}/initdb`) && await exists(`${dir}/pg_ctl`)) return dir;
  }
  throw new Error(
    "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql: " +
      "install them with `apt-get install postgresql`, or set TEST_DATABASE_URL to a Postgres " +
      "with wal_level=logical",
  );
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function run(cmd: string, args: string[], hint = ""): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error(`${cmd} not found. ${hint}`);
    throw error;
  }
  if (!output.success) {
    const err = new TextDecoder().decode(output.stderr);
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err}`);
  }
}

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Whether a Redis on 127.0.0.1:`port` answers PING within a second. Bounded: whatever else
 * holds the port (a server that is not Redis, a socket that never accepts) may never answer.
 */
export async function answers(port: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn?.close();
  }, 1_000);
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    if (!timedOut) conn?.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
