import assert from "node:assert/strict";
import {
  cpuBetween,
  cpuDuring,
  type CpuSnapshot,
  describeCpu,
  parseMachineStat,
  parseProcessStat,
} from "../../bench/support/cpu_usage.ts";

Deno.test("a process's CPU is utime + stime, counted past a name with spaces and parentheses", () => {
  const line = "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 9 0 " +
    "100 2000000 5000 18446744073709551615";
  assert.deepEqual(parseProcessStat(line), { name: "tokio (rt) w", ticks: 1801 });
  assert.throws(() => parseProcessStat("garbage"), /Not a \/proc/);
  assert.throws(() => parseProcessStat("1 (x) S 1"), /No utime/);
});

Deno.test("the machine is busy in user, nice, system, irq and softirq; idle, iowait and steal are not", () => {
  const stat = [
    "cpu  100 10 50 800 20 5 15 40 7 0",
    "cpu0 50 5 25 400 10 2 8 20 3 0",
    "cpu1 50 5 25 400 10 3 7 20 4 0",
    "intr 12345",
  ].join("\n");
  assert.deepEqual(parseMachineStat(stat), { busy: 180, total: 1040, cores: 2 });
  assert.throws(() => parseMachineStat("intr 1"), /No cpu line/);
});

Deno.test("CPU between snapshots: by group, a process new since the first counts from zero", () => {
  const snapshot = (pids: [number, string, number][], busy: number, total: number) =>
    ({
      pids: new Map(pids.map(([pid, group, ticks]) => [pid, { group, ticks }])),
      machine: { busy, total, cores: 2 },
    }) satisfies CpuSnapshot;
  const before = snapshot([[1, "service", 1000], [2, "postgres", 300], [3, "postgres", 50]], 0, 0);
  const after = snapshot(
    [[1, "service", 1085], [2, "postgres", 340], [3, "postgres", 80], [4, "postgres", 5]],
    150,
    200,
  );
  const used = cpuBetween(before, after);
  assert.deepEqual(Object.fromEntries(used.seconds), { service: 0.85, postgres: 0.75 });
  assert.equal(used.machineBusy, 0.75);
  assert.equal(
    describeCpu(used, 1000, "push"),
    "CPU per push: service 0.85 ms, postgres 0.75 ms, redis 0.00 ms, client 0.00 ms; " +
      "machine 75 % busy (2 cores)",
  );
});

Deno.test("cpuDuring reads this machine's /proc: a busy loop here counts as the client's CPU", async () => {
  const { value, used } = await cpuDuring(-1, () => {
    const until = performance.now() + 300;
    let spins = 0;
    while (performance.now() < until) spins++;
    return Promise.resolve(spins);
  });
  assert.ok(value > 0);
  const client = used.seconds.get("client") ?? 0;
  // 300 ms of spinning, counted in ticks of 10 ms by a kernel that may round either way.
  assert.ok(client >= 0.2 && client <= 1.5, `client CPU ${client} s`);
  assert.equal(used.seconds.has("service"), false);
  assert.ok(used.cores >= 1);
  assert.ok(used.machineBusy > 0 && used.machineBusy <= 1, `machine busy ${used.machineBusy}`);
});
