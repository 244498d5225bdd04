import { registerDevice } from "../client/register_device.ts";
import { SyncApi } from "../client/sync_api.ts";
import type { SyncClientOptions } from "../client/sync_client.ts";
import type { ChangeResult } from "../client/wire.ts";
import { type ActionName, Behaviour, seededRandom } from "./behaviour.ts";
import { differences, fullPull } from "./convergence.ts";
import { SimDevice } from "./sim_device.ts";
import type { Target } from "./target.ts";

export interface SimulationOptions {
  target: Target;
  /** Devices per user. */
  devices: number;
  /** Default 1. */
  users?: number;
  /** How long the devices act. */
  durationMs: number;
  /** Actions per device per second (default 1). */
  actionsPerSecond?: number;
  /** Chance per device per second of losing the network (default 0.05). */
  offlineRate?: number;
  /** How long an outage lasts, uniform in [min, max] ms (default 500..4000). */
  offlineMs?: { min: number; max: number };
  /** Chance per device per second of the app being restarted (default 0.01). */
  restartRate?: number;
  /** The first device sets `ai_preferences` to the manual strategy (default true). */
  manualConflicts?: boolean;
  /**
   * Teams: every user's token names this team (tier `team`); user 0 is its admin, whose
   * devices edit and delete team profiles, the others members, whose devices now and then
   * try to and are refused. Every device must converge on the team's items too.
   */
  team?: string;
  /** Seed of the behaviour (default: random, printed). */
  seed?: number;
  /** Keep each device's state in a fileStore under this directory instead of memory. */
  storeDir?: string;
  /** Give up waiting for convergence after this (default 60 s). */
  convergeTimeoutMs?: number;
  /** Passed to every SyncClient (e.g. a faster backoff in tests). */
  client?: Partial<SyncClientOptions>;
}

export interface SimulationReport {
  target: string;
  users: number;
  devices: number;
  seed: number;
  actionMs: number;
  actions: Partial<Record<ActionName | "offline" | "restart", number>>;
  /** Push answers by status. */
  statuses: Partial<Record<ChangeResult["status"], number>>;
  conflictsResolved: number;
  offlineMs: number;
  /** Live items on the server at the end, over all users (a team's counted once per member). */
  items: number;
  /** Live team items on the server at the end (with `team`), part of every member's pull. */
  teamItems: number;
  converged: boolean;
  /** From the last change (the devices stopped acting, networks back) to every store equal to a fresh pull. */
  convergedAfterMs: number | null;
  /** Changes answered per second, from the first action to convergence. */
  changesPerSecond: number;
  /** Where stores still differ (when not converged). */
  differences: string[];
}

/**
 * Runs `devices` devices of each of `users` users doing what people do (typing commands,
 * editing profiles and settings, deleting, losing the network, restarting the app), then
 * checks that every device converged to the server's state: each store equals a fresh
 * full pull.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seededRandom(seed);
  const users = options.users ?? 1;
  if (options.target.singleUser && users !== 1) {
    throw new Error("With one account token the simulation has one user: use --users 1");
  }
  const run = crypto.randomUUID().slice(0, 8);
  const statuses: SimulationReport["statuses"] = {};
  const observe = (method: string, path: string, status: number, body: ArrayBuffer) => {
    if (method !== "POST" || path !== "/api/sync/data" || status !== 200) return;
    for (const result of JSON.parse(new TextDecoder().decode(body)).results as ChangeResult[]) {
      statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    }
  };
  const devices: SimDevice[] = [];
  const apis: SyncApi[] = [];
  for (let u = 0; u < users; u++) {
    const accountToken = await options.target.accountToken(`sim-${run}-${u}`, {
      tier: options.devices > 10 ? "enterprise" : options.team ? "team" : "pro",
      ...(options.team && { teamId: options.team, teamRole: u === 0 ? "admin" : "member" }),
    });
    for (let d = 0; d < options.devices; d++) {
      const { token } = await registerDevice({
        baseUrl: options.target.baseUrl,
        accountToken,
        name: `sim device ${d}`,
        platform: ["ios", "android", "web", "macos"][d % 4],
        installId: `sim-${u}-${d}`,
      });
      if (d === 0) apis.push(new SyncApi({ baseUrl: options.target.baseUrl, token }));
      const behaviour = new Behaviour(
        d,
        seededRandom(random() * 2 ** 32),
        options.team ? (u === 0 ? "admin" : "member") : null,
      );
      devices.push(
        new SimDevice(`user ${u} device ${d}`, u, behaviour, {
          baseUrl: options.target.baseUrl,
          token,
          storePath: options.storeDir && `${options.storeDir}/${run}-${u}-${d}.json`,
          client: options.client,
          observe,
        }),
      );
    }
  }
  try {
    await Promise.all(devices.map((d) => d.start()));
    if (options.manualConflicts ?? true) {
      for (const device of devices.filter((d) => d.name.endsWith(" device 0"))) {
        const current = device.client.get("settings", "sync")?.data ?? {};
        device.client.put("settings", "sync", {
          ...current,
          conflict_strategies: { ai_preferences: "manual" },
        });
        await device.client.flush();
      }
    }
    const actions: SimulationReport["actions"] = {};
    const started = performance.now();
    const endAt = started + options.durationMs;
    await Promise.all(devices.map((device) => act(device, endAt, options, actions)));
    // The last change: every device stopped acting and has its network back.
    for (const device of devices) device.online();
    const lastChange = performance.now();
    const outcome = await converge(devices, apis, options.convergeTimeoutMs ?? 60_000);
    const answered = Object.values(statuses).reduce((sum, n) => sum + n, 0);
    const convergedAt = outcome.convergedAt ?? performance.now();
    return {
      target: options.target.describe,
      users,
      devices: options.devices,
      seed,
      actionMs: Math.round(lastChange - started),
      actions,
      statuses,
      conflictsResolved: sum(devices, (d) => d.counters.conflictsResolved),
      offlineMs: sum(devices, (d) => d.counters.offlineMs),
      items: outcome.items,
      teamItems: outcome.teamItems,
      converged: outcome.convergedAt !== null,
      convergedAfterMs: outcome.convergedAt === null
        ? null
        : Math.round(outcome.convergedAt - lastChange),
      changesPerSecond: answered / ((convergedAt - started) / 1000),
      differences: outcome.differences,
    };
  } finally {
    await Promise.all(devices.map((d) => d.client.stop()));
  }
}

/** One device acting until `endAt`: actions at a jittered pace, outages, restarts. */
async function act(
  device: SimDevice,
  endAt: number,
  options: SimulationOptions,
  counts: SimulationReport["actions"],
): Promise<void> {
  const random = device.behaviour.random;
  const pace = 1000 / (options.actionsPerSecond ?? 1);
  const { min, max } = options.offlineMs ?? { min: 500, max: 4000 };
  let outage: Promise<void> = Promise.resolve();
  while (performance.now() < endAt) {
    const wait = pace * (0.5 + random());
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(wait, Math.max(0, endAt - performance.now())))
    );
    if (performance.now() >= endAt) break;
    const seconds = wait / 1000;
    if (device.link.online && random() < (options.offlineRate ?? 0.05) * seconds) {
      count(counts, "offline");
      // Outages run beside the actions: people keep typing while offline.
      outage = device.offlineFor(Math.min(min + random() * (max - min), endAt - performance.now()));
    }
    if (random() < (options.restartRate ?? 0.01) * seconds) {
      count(counts, "restart");
      await device.restart();
    }
    count(counts, device.behaviour.act(device.client).action);
  }
  await outage;
}

/** Polls until every device's store equals a fresh full pull of its user; null on timeout. */
async function converge(
  devices: SimDevice[],
  apis: SyncApi[],
  timeoutMs: number,
): Promise<
  { convergedAt: number | null; items: number; teamItems: number; differences: string[] }
> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    // Cheap first: nothing queued, and every device of a user at one cursor.
    const settled = devices.every((d) => d.client.status.queued === 0) &&
      apis.every((_, u) => cursors(devices, u).size === 1);
    const timedOut = performance.now() >= deadline;
    if (settled || timedOut) {
      const at = performance.now();
      const { items, teamItems, found } = await compare(devices, apis);
      if (found.length === 0 && settled) {
        return { convergedAt: at, items, teamItems, differences: [] };
      }
      if (timedOut) {
        const split = apis.flatMap((_, u) =>
          cursors(devices, u).size > 1
            ? [`user ${u}: devices at cursors ${[...cursors(devices, u)].join(", ")}`]
            : []
        );
        return {
          convergedAt: null,
          items,
          teamItems,
          differences: [...found, ...split].slice(0, 20),
        };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function cursors(devices: SimDevice[], user: number): Set<string | null> {
  return new Set(devices.filter((d) => d.user === user).map((d) => d.client.cursor));
}

/** Every device against a fresh full pull of its user (its team's items included). */
async function compare(devices: SimDevice[], apis: SyncApi[]) {
  const found: string[] = [];
  let items = 0;
  let teamItems = 0;
  for (const [u, api] of apis.entries()) {
    const server = await fullPull(api);
    const live = [...server.values()].filter((c) => !c.deleted);
    items += live.length;
    teamItems = live.filter((c) => c.collection === "team_ssh_profiles").length;
    for (const device of devices.filter((d) => d.user === u)) {
      found.push(...differences(device.client, server).map((d) => `${device.name}: ${d}`));
    }
  }
  return { items, teamItems, found };
}

/** The report as printed by `deno task simulate`. */
export function formatReport(r: SimulationReport): string[] {
  const list = (counts: Record<string, number | undefined>) =>
    Object.entries(counts).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)).map(([k, n]) => `${k} ${n}`)
      .join(", ");
  return [
    `simulation: ${r.users} user(s) x ${r.devices} devices for ${
      (r.actionMs / 1000).toFixed(1)
    } s, seed ${r.seed}`,
    `  target:    ${r.target}`,
    `  did:       ${list(r.actions)}`,
    `  offline:   ${(r.offlineMs / 1000).toFixed(1)} device-seconds in all`,
    `  answers:   ${list(r.statuses)}; conflicts resolved by a device: ${r.conflictsResolved}`,
    r.converged
      ? `  converged: yes, ${r.convergedAfterMs} ms after the last change; ${r.items} live items ` +
        `(${r.teamItems} of the team), every device's store = a fresh full pull`
      : "  converged: NO",
    `  end to end: ${
      r.changesPerSecond.toFixed(1)
    } changes/s (answered, first action to convergence)`,
    ...r.differences.map((d) => `  differs: ${d}`),
  ];
}

function count(counts: Record<string, number | undefined>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function sum(devices: SimDevice[], pick: (d: SimDevice) => number): number {
  return devices.reduce((total, d) => total + pick(d), 0);
}
