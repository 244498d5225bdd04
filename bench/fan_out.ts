/**
 * Fan-out: `sync_data_available` messages delivered per second to SOCKETS sockets of one
 * instance, for `changes` events published on the users' Redis channels (as the
 * replication listener publishes them) as fast as Redis takes them. The service (main.ts
 * wiring on Postgres + Redis, ROLE=api) against a bare server that subscribes to the same
 * channels with node-redis and sends each event, serialised once, to the same sockets; and
 * the same service on a three-master Redis Cluster (sharded pub/sub, events sent with
 * SPUBLISH) beside it. Servers in their own process, sockets in this one; every socket must
 * receive every event.
 */
import { createClient, createCluster } from "redis";
import { encodeCursor } from "../sync/cursor.ts";
import { userChannel } from "../sync/events.ts";
import { deviceSocket, startApiService } from "./support/api_service.ts";
import { benchMain, benchRedisClusterUrls, benchRedisUrl } from "./support/bench_env.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { seedDevices } from "./support/seed_devices.ts";
import { startServer } from "./support/server_process.ts";
import { figure } from "./support/report.ts";
import { int, ratio, sleep } from "./support/stats.ts";
import { openFleet, type SocketTarget, type WsFleet } from "./support/ws_fleet.ts";

const SOCKETS = 1000;
const SCENARIOS = [
  { name: "1 user, 10 devices x 100 sockets", users: 1, devices: 10, events: 300 },
  { name: "100 users x 10 devices", users: 100, devices: 10, events: 300 },
];
/** The one command the benchmark sends to Redis; closing it disconnects. */
interface Publisher {
  publish(channel: string, message: string): Promise<unknown>;
  close(): void;
}
const TIMEOUT_MS = 30_000;

export async function run(): Promise<string[]> {
  const lines = [`fan-out: ${SOCKETS} sockets on one instance, events published to Redis`];
  for (const scenario of SCENARIOS) {
    const prefix = `fan-${crypto.randomUUID().slice(0, 8)}`;
    const channels = Array.from({ length: scenario.users }, (_, u) => `${prefix}-${u}`);
    await using db = await openBenchDb();
    const devices = await seedDevices(db.url, prefix, scenario.users, scenario.devices);
    const onService = async (bus: "redis" | "redis-cluster") => {
      await using server = await startApiService(db.url, bus);
      const targets = Array.from(
        { length: SOCKETS },
        (_, i) => deviceSocket(server, devices[i % devices.length].token),
      );
      return await deliver(targets, channels, scenario.events, bus);
    };
    const service = await onService("redis");
    const onCluster = await onService("redis-cluster");
    let bare: Rate;
    {
      await using server = await startServer("bare", { BENCH_REDIS_URL: benchRedisUrl() });
      const ws = server.url.replace(/^http/, "ws");
      const perUser = SOCKETS / scenario.users;
      const targets = Array.from({ length: SOCKETS }, (_, i): SocketTarget => ({
        url: `${ws}/?user=${channels[Math.floor(i / perUser)]}`,
      }));
      bare = await deliver(targets, channels, scenario.events, "redis");
    }
    lines.push(
      `  ${scenario.name}, ${scenario.events} events per user:`,
      `    service ${int(service.perSecond)} deliveries/s${service.note}`,
      `    bare    ${int(bare.perSecond)} deliveries/s${bare.note}`,
      figure({
        name: `fan-out, ${scenario.name}, vs bare`,
        value: service.perSecond / bare.perSecond,
        unit: "x",
        goal: { op: ">=", value: 0.7 },
      }),
      `    service on Redis Cluster (3 masters) ${int(onCluster.perSecond)} deliveries/s` +
        `${onCluster.note}, ${ratio(onCluster.perSecond / service.perSecond)} of single Redis`,
    );
  }
  return lines;
}

interface Rate {
  perSecond: number;
  note: string;
}

async function deliver(
  targets: SocketTarget[],
  users: string[],
  events: number,
  bus: "redis" | "redis-cluster",
): Promise<Rate> {
  const redis = await publisher(bus);
  try {
    await using fleet = await openFleet(targets);
    await warmUp(fleet, redis, users);
    fleet.reset();
    const expected = events * targets.length;
    const started = performance.now();
    for (let e = 0; e < events; e++) {
      await Promise.all(users.map((user) => redis.publish(userChannel(user), event(e + 10))));
    }
    const complete = await fleet.until(expected, TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    const note = complete ? "" : ` (only ${int(fleet.delivered)} of ${int(expected)} arrived)`;
    const closed = fleet.closedByServer > 0 ? `, ${fleet.closedByServer} sockets closed` : "";
    return { perSecond: fleet.delivered / seconds, note: note + closed };
  } finally {
    redis.close();
  }
}

/** PUBLISH on the bench Redis, or SPUBLISH on the bench Redis Cluster. */
async function publisher(bus: "redis" | "redis-cluster"): Promise<Publisher> {
  if (bus === "redis") {
    const client = createClient({ url: benchRedisUrl() });
    client.on("error", () => {});
    await client.connect();
    return { publish: (c, m) => client.publish(c, m), close: () => client.destroy() };
  }
  const cluster = createCluster({
    rootNodes: benchRedisClusterUrls().split(",").map((url) => ({ url })),
  });
  cluster.on("error", () => {});
  await cluster.connect();
  return { publish: (c, m) => cluster.sPublish(c, m), close: () => cluster.destroy() };
}

/** Publishes to every channel until every socket got one notification (subscriptions are live). */
async function warmUp(fleet: WsFleet, redis: Publisher, users: string[]) {
  for (let i = 0; i < 100 && fleet.reached < fleet.size; i++) {
    await Promise.all(users.map((user) => redis.publish(userChannel(user), event(1 + (i % 9)))));
    await sleep(100);
  }
  if (fleet.reached < fleet.size) {
    throw new Error(`Only ${fleet.reached} of ${fleet.size} sockets receive events after 10 s`);
  }
}

function event(seq: number): string {
  return JSON.stringify({
    type: "changes",
    cursor: encodeCursor(seq),
    collections: ["commands"],
    origin_device_id: null,
  });
}

if (import.meta.main) await benchMain(run);
