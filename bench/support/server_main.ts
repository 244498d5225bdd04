/**
 * A sync server in its own process, for benchmarks that must not count the clients'
 * memory or CPU. Started by `server_process.ts`; prints one JSON line `{"url": …}` on
 * stdout once it listens on 127.0.0.1, logs go to stderr.
 *
 * - `service` (first argument): the instance wired as main.ts wires it, from the same
 *   environment variables (`DATABASE_URL` unset → PGlite, in memory unless `DATA_DIR` is
 *   set, `REDIS_URL` unset → in-process bus; `ROLE=api` → no replication listener).
 * - `bare`: `Deno.upgradeWebSocket` and nothing else: echoes what a socket sends and, with
 *   `BENCH_REDIS_URL`, broadcasts each `changes` event of `sync:user:<user>` to the
 *   sockets that connected with `?user=<user>`. The baseline the service is held to.
 *   Over plain HTTP it is the transport floor: `GET /__bench/bytes?n=<n>` answers `n`
 *   bytes of JSON, any POST reads its body and answers a small JSON object.
 * - `plain`: the least a push needs from Postgres, written plainly with postgres.js on
 *   `DATABASE_URL` (tables `plain_users`, `plain_changes` of its own): per POST, a lookup
 *   standing for the device token's, then one statement that takes the user's next
 *   sequence number under its row lock and stores the body. No validation, no conflict
 *   decision, no WAL listener, Redis or notification: the floor the push path is held to.
 *
 * All three answer `GET /__bench/memory` with `Deno.memoryUsage()` after a full GC
 * (run with `--v8-flags=--expose-gc`).
 */
import { loadConfig } from "../../config.ts";
import { startService } from "../../service.ts";
import { createLogger } from "../../sync/logger.ts";

type Handler = (req: Request) => Response | Promise<Response>;

const mode = Deno.args[0];
const shutdownSteps: Array<() => Promise<unknown>> = [];
let handler: Handler;
if (mode === "service") handler = await service();
else if (mode === "bare") handler = await bare();
else if (mode === "plain") handler = await plain();
else throw new Error(`Mode must be "service", "bare" or "plain": got "${mode}"`);

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ hostname, port }) =>
    console.log(JSON.stringify({ url: `http://${hostname}:${port}` })),
}, (req) => new URL(req.url).pathname === "/__bench/memory" ? memory() : handler(req));

Deno.addSignalListener("SIGTERM", async () => {
  const [first, ...rest] = shutdownSteps;
  await first?.().catch(() => {});
  await server.shutdown();
  for (const step of rest) await step().catch(() => {});
  Deno.exit(0);
});

function memory(): Response {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return Response.json({ ...Deno.memoryUsage(), gc: gc !== undefined });
}

async function service(): Promise<Handler> {
  const config = loadConfig(Deno.env.toObject());
  const logger = createLogger(config.LOG_LEVEL, (line) => console.error(line));
  const service = await startService(config, logger, { inMemory: !Deno.env.get("DATA_DIR") });
  const listener = service.listener;
  // Bounded: a listener that never streams shows up as missing notifications, not a hang.
  for (let i = 0; i < 300 && listener && !listener.state().streaming; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  shutdownSteps.push(() => service.hub.close(), () => service.close());
  return (req) => service.app.fetch(req);
}

async function bare(): Promise<Handler> {
  const sockets = new Map<string, Set<WebSocket>>();
  const redisUrl = Deno.env.get("BENCH_REDIS_URL");
  // Loaded here: the service process must hold only what the service itself imports.
  const redis = redisUrl ? (await import("redis")).createClient({ url: redisUrl }) : null;
  redis?.on("error", (error: unknown) => console.error(`bare server: Redis error: ${error}`));
  await redis?.connect();
  const broadcast = (user: string, raw: string) => {
    const event = JSON.parse(raw);
    if (event.type !== "changes") return;
    const message = JSON.stringify({
      type: "sync_data_available",
      cursor: event.cursor,
      collections: event.collections,
      origin_device_id: event.origin_device_id,
    });
    for (const socket of sockets.get(user) ?? []) {
      if (socket.readyState === WebSocket.OPEN) socket.send(message);
    }
  };
  shutdownSteps.push(() => {
    for (const set of sockets.values()) for (const socket of set) socket.close(1012);
    return Promise.resolve();
  }, () => Promise.resolve(redis?.destroy()));
  return async (req) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return await plainHttp(req);
    const user = new URL(req.url).searchParams.get("user") ?? "bench";
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.addEventListener("open", () => {
      let set = sockets.get(user);
      if (!set) {
        sockets.set(user, set = new Set());
        void redis?.subscribe(`sync:user:${user}`, (message) => broadcast(user, message));
      }
      set.add(socket);
    });
    socket.addEventListener("message", (event) => socket.send(event.data));
    socket.addEventListener("close", () => {
      const set = sockets.get(user);
      set?.delete(socket);
      if (set?.size === 0) {
        sockets.delete(user);
        void redis?.unsubscribe(`sync:user:${user}`);
      }
    });
    return response;
  };
}

async function plain(): Promise<Handler> {
  // Loaded here, as Redis is in bare(): this mode's process holds only what it needs.
  const { default: postgres } = await import("postgres");
  const sql = postgres(Deno.env.get("DATABASE_URL")!, { max: 10, onnotice: () => {} });
  await sql.unsafe(
    `create table if not exists plain_users (user_id text primary key, seq bigint not null);
     create table if not exists plain_changes (user_id text, seq bigint, data jsonb,
       primary key (user_id, seq))`,
  );
  // Nothing to close before the server stops; the pool once its answers are out.
  shutdownSteps.push(() => Promise.resolve(), () => sql.end({ timeout: 5 }));
  return async (req) => {
    const user = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    const body = await req.text();
    await sql.unsafe("select seq from plain_users where user_id = $1", [user]);
    const [{ seq }] = await sql.unsafe(
      `with head as (
         insert into plain_users (user_id, seq) values ($1, 1)
         on conflict (user_id) do update set seq = plain_users.seq + 1 returning seq
       )
       insert into plain_changes (user_id, seq, data) select $1, seq, $2 from head returning seq`,
      [user, body],
    );
    return Response.json({ seq: Number(seq) });
  };
}

async function plainHttp(req: Request): Promise<Response> {
  const json = { "content-type": "application/json" };
  if (req.method === "POST") {
    await req.arrayBuffer();
    return new Response('{"ok":true}', { headers: json });
  }
  const n = Number(new URL(req.url).searchParams.get("n"));
  if (req.method !== "GET" || !Number.isInteger(n) || n < 2) {
    return new Response("WebSocket, GET /__bench/bytes?n=<n> or POST", { status: 400 });
  }
  return new Response(`"${"x".repeat(n - 2)}"`, { headers: json });
}
