/**
 * Where the CPU went during a measured window, read from /proc: the service's process, this
 * process (the load), the database and Redis servers, and the machine as a whole.
 *
 * On a 2-core machine a throughput figure over loopback is bounded by all of them together,
 * not by the service alone: the client, Postgres and Redis run on the same two cores, and
 * every statement or message wakes another process. Printed beside the figure, the split
 * says whether the service or the machine was the limit, and the service's own CPU per
 * operation compares across machines better than the rate does.
 */

/** Clock ticks per second of /proc's times: USER_HZ, 100 on every Linux architecture we run. */
const TICKS_PER_SECOND = 100;

/** A process's name and the CPU it used so far, user and system, threads that ended included. */
export interface ProcessCpu {
  name: string;
  ticks: number;
}

/**
 * Parses `/proc/<pid>/stat`. The name (field 2) is in parentheses and may hold spaces or
 * parentheses itself, so the fields are counted from its last `)`: utime and stime are
 * fields 14 and 15.
 */
export function parseProcessStat(text: string): ProcessCpu {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`Not a /proc/<pid>/stat line: ${text}`);
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state).
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`No utime/stime in /proc/<pid>/stat: ${text}`);
  return { name: text.slice(open + 1, close), ticks };
}

/** The machine's busy and total ticks since boot, summed over its CPUs, and how many CPUs. */
export interface MachineCpu {
  busy: number;
  total: number;
  cores: number;
}

/**
 * Parses `/proc/stat`: its `cpu` line is user, nice, system, idle, iowait, irq, softirq,
 * steal, then guest and guest_nice, which user and nice already count. Idle and iowait are
 * not busy; steal (a hypervisor running someone else) is time the machine did not have.
 */
export function parseMachineStat(text: string): MachineCpu {
  const lines = text.split("\n");
  const total = lines.find((line) => line.startsWith("cpu "));
  if (!total) throw new Error("No cpu line in /proc/stat");
  const [user, nice, system, idle, iowait, irq, softirq, steal] = total.trim().split(/\s+/)
    .slice(1, 9).map(Number);
  const busy = user + nice + system + irq + softirq;
  return {
    busy,
    total: busy + idle + iowait + (steal || 0),
    cores: lines.filter((line) => /^cpu\d+ /.test(line)).length,
  };
}

/** The groups of a load test, in the order they print. */
const GROUPS = ["service", "postgres", "redis", "client"];

/**
 * The group a process counts in: the service's process, this one (the client making the
 * load), and every process of the Postgres and Redis servers (their backends and workers; an
 * idle server adds nothing). Null: none.
 */
function groupOf(servicePid: number, pid: number, name: string): string | null {
  if (pid === servicePid) return "service";
  if (pid === Deno.pid) return "client";
  if (name === "postgres") return "postgres";
  return name === "redis-server" ? "redis" : null;
}

/** The CPU used while `run` ran, by group (see groupOf). */
export async function cpuDuring<T>(
  servicePid: number,
  run: () => Promise<T>,
): Promise<{ value: T; used: CpuUsed }> {
  const before = await cpuSnapshot(servicePid);
  const value = await run();
  return { value, used: cpuBetween(before, await cpuSnapshot(servicePid)) };
}

export interface CpuSnapshot {
  /** Ticks by pid, so a process that started after the first snapshot counts from zero. */
  pids: Map<number, { group: string; ticks: number }>;
  machine: MachineCpu;
}

/** Reads every process's CPU, kept for the processes of a group. */
async function cpuSnapshot(servicePid: number): Promise<CpuSnapshot> {
  const pids = new Map<number, { group: string; ticks: number }>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    let stat: ProcessCpu;
    try {
      stat = parseProcessStat(await Deno.readTextFile(`/proc/${pid}/stat`));
    } catch {
      continue; // It ended while the directory was read.
    }
    const group = groupOf(servicePid, pid, stat.name);
    if (group !== null) pids.set(pid, { group, ticks: stat.ticks });
  }
  return { pids, machine: parseMachineStat(await Deno.readTextFile("/proc/stat")) };
}

/** CPU seconds by group, and the machine's busy share (0-1) of its cores. */
export interface CpuUsed {
  seconds: Map<string, number>;
  machineBusy: number;
  cores: number;
}

/** The CPU between two snapshots. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuUsed {
  const seconds = new Map<string, number>();
  for (const [pid, { group, ticks }] of after.pids) {
    // Only a process alive at both ends, or new since the first: a pid reused in between
    // would count a stranger's CPU, but within seconds that does not happen.
    const used = ticks - (before.pids.get(pid)?.ticks ?? 0);
    seconds.set(group, (seconds.get(group) ?? 0) + used / TICKS_PER_SECOND);
  }
  const total = after.machine.total - before.machine.total;
  const machineBusy = total > 0 ? (after.machine.busy - before.machine.busy) / total : NaN;
  return { seconds, machineBusy, cores: after.machine.cores };
}

/**
 * `CPU per push: service 0.85 ms, postgres 0.70 ms, redis 0.10 ms, client 0.30 ms; machine
 * 92 % busy (2 cores)`: each group's CPU divided by `operations`.
 */
export function describeCpu(used: CpuUsed, operations: number, what: string): string {
  const parts = GROUPS.map((group) =>
    `${group} ${((used.seconds.get(group) ?? 0) * 1000 / operations).toFixed(2)} ms`
  );
  return `CPU per ${what}: ${parts.join(", ")}; machine ${
    (used.machineBusy * 100).toFixed(0)
  } % busy (${used.cores} cores)`;
}
