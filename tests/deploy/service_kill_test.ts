/**
 * The service killed outright (SIGKILL, as the OOM killer or a pulled container does it)
 * while devices push, on the embedded default and on Postgres: what the README promises. A
 * push the service answered is stored; the service starts again on the same data; a device
 * retrying the pushes it got no answer to (same change ids) gets each applied exactly once,
 * a batch whole or not at all.
 */
import assert from "node:assert/strict";
import { type Device as RegisteredDevice, randomUser, register } from "../e2e/devices.ts";
import { command } from "../support/changes.ts";
import { eventually } from "../support/eventually.ts";
import { TEST_SECRET } from "../support/app.ts";
import { requester } from "../support/instance.ts";
import { testRedisUrl } from "../support/services.ts";
import { type ServiceProcess, startServiceProcess } from "../support/service_process.ts";
import { openReplicationDb } from "../sync/replication/support.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DEVICES = 4;
/** Answered pushes before the kill: enough that several are in flight when it lands. */
const ANSWERED_BEFORE_KILL = 60;
/** The first device's batches: a commit long enough that the kill may land inside one. */
const BIG_BATCH = 200;

type Change = ReturnType<typeof command>;

interface Device extends RegisteredDevice {
  userId: string;
}

interface Result {
  change_id: string;
  status: string;
  version?: number;
}

/** Where the service keeps its data, as its environment names it. */
interface Storage extends AsyncDisposable {
  env: Record<string, string>;
}

Deno.test("embedded: SIGKILL under pushes loses no answered push; after a restart an answered batch sent again is a duplicate, an unanswered one applies once and whole", async () => {
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  await killUnderPushes({
    env: { DATA_DIR: dataDir },
    [Symbol.asyncDispose]: () =>
      Deno.remove(`${ROOT}${dataDir}`, { recursive: true }).catch(() => {}),
  });
});

Deno.test("postgres: SIGKILL under pushes loses no answered push; after a restart an answered batch sent again is a duplicate, an unanswered one applies once and whole", async () => {
  const db = await openReplicationDb();
  await killUnderPushes({
    env: {
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REPLICATION_SLOT: db.slot,
    },
    [Symbol.asyncDispose]: () => db[Symbol.asyncDispose](),
  });
});

async function killUnderPushes(storage: Storage): Promise<void> {
  await using _ = storage;
  // The secret the tests' devices are registered with (e2e/devices.ts), in both modes.
  const env = { ...storage.env, JWT_SECRET: TEST_SECRET, LOG_LEVEL: "warn" };
  await using first = await startServiceProcess(env);
  const devices = await registerDevices(first.url);
  const answered: { device: Device; changes: Change[]; results: Result[] }[] = [];
  const unanswered: { device: Device; changes: Change[] }[] = [];
  const pushers = devices.map(async (device, d) => {
    for (let n = 0;; n++) {
      const changes = Array.from(
        { length: d === 0 ? BIG_BATCH : 1 + (n % 3) },
        (_, i) => command(`kill test ${d}/${n}/${i}`),
      );
      let res: Response;
      try {
        res = await pushOver(first.url, device, changes);
      } catch {
        unanswered.push({ device, changes }); // The kill took the connection.
        return;
      }
      assert.equal(res.status, 200, await res.clone().text());
      const { results } = await res.json() as { results: Result[] };
      answered.push({ device, changes, results });
    }
  });
  await eventually(() => answered.length >= ANSWERED_BEFORE_KILL, 60_000, "pushes answered");
  Deno.kill(await serverPid(first), "SIGKILL");
  await Promise.all(pushers);
  await first.status;
  assert.equal(unanswered.length, DEVICES, "each device's last push went unanswered");
  for (const { results } of answered) {
    assert.deepEqual(
      results.map((r) => [r.status, r.version]),
      results.map(() => ["applied", 1]),
    );
  }

  await using second = await startServiceProcess(env);
  const retried = await Promise.all(unanswered.map(async ({ device, changes }) => {
    const res = await pushOver(second.url, device, changes);
    assert.equal(res.status, 200, await res.clone().text());
    const { results } = await res.json() as { results: Result[] };
    assert.deepEqual(results.map((r) => r.change_id), changes.map((c) => c.change_id));
    // Committed before the kill (its answer lost) or not at all: never part of a batch.
    const [status] = results.map((r) => r.status);
    assert.ok(status === "applied" || status === "duplicate", status);
    assert.deepEqual(results.map((r) => [r.status, r.version]), results.map(() => [status, 1]));
    return { device, changes };
  }));

  // What the service did remember across the kill: an answered batch sent again is a duplicate.
  for (const device of devices) {
    const last = answered.findLast((p) => p.device === device)!;
    const res = await pushOver(second.url, device, last.changes);
    assert.equal(res.status, 200);
    const { results } = await res.json() as { results: Result[] };
    assert.deepEqual(
      results.map((r) => [r.change_id, r.status, r.version]),
      last.changes.map((c) => [c.change_id, "duplicate", 1]),
      "an answered batch sent again: stored before the kill, so each change a duplicate",
    );
  }

  for (const userId of new Set(devices.map((d) => d.userId))) {
    const reader = devices.find((d) => d.userId === userId)!;
    const stored = await pullEverything(second.url, reader);
    const expected = [...answered, ...retried].filter((p) => p.device.userId === userId)
      .flatMap((p) => p.changes);
    const lost = expected.filter((change) => !stored.has(change.id)).map((change) => change.id);
    assert.deepEqual(lost, [], `${userId}: answered, yet gone after the kill`);
    for (const change of expected) {
      assert.deepEqual(stored.get(change.id), change.data, `${userId}: ${change.id}`);
    }
    assert.equal(stored.size, expected.length, `${userId}: nothing stored but what was pushed`);
  }
}

/** Two users with two devices each. */
async function registerDevices(url: string): Promise<Device[]> {
  const at = { request: requester(url) };
  const users = [randomUser(), randomUser()];
  const devices: Device[] = [];
  for (let d = 0; d < DEVICES; d++) {
    const userId = users[d % users.length];
    devices.push({ userId, ...await register(at, userId, `device ${d}`) });
  }
  return devices;
}

function pushOver(url: string, device: Device, changes: Change[]): Promise<Response> {
  return requester(url)("POST", "/api/sync/data", { token: device.token, body: { changes } });
}

/** Every item of `device`'s user, by id; a second change to an id fails the test. */
async function pullEverything(url: string, device: Device): Promise<Map<string, unknown>> {
  const items = new Map<string, unknown>();
  let since = "";
  for (;;) {
    const query = new URLSearchParams({ limit: "1000", ...(since && { since }) });
    const res = await requester(url)("GET", `/api/sync/data?${query}`, { token: device.token });
    assert.equal(res.status, 200);
    const page = await res.json() as {
      changes: { id: string; data: unknown }[];
      cursor: string;
      has_more: boolean;
    };
    for (const change of page.changes) {
      assert.ok(!items.has(change.id), `${change.id} pulled twice`);
      items.set(change.id, change.data);
    }
    since = page.cursor;
    if (!page.has_more) return items;
  }
}

/**
 * The service itself: `deno task start` runs it as a child of the task runner, and a
 * SIGKILL of the runner would leave it serving.
 */
async function serverPid(service: ServiceProcess): Promise<number> {
  const pid = service.child.pid;
  const children = (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`)).trim();
  const pids = children.split(/\s+/).filter(Boolean).map(Number);
  assert.equal(pids.length, 1, `deno task start (pid ${pid}) runs one child: ${children}`);
  return pids[0];
}
