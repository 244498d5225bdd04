/**
 * Push throughput when 10 % of a batch's changes are stale (and go through the
 * collection's strategy, field_merge for ssh_profiles), as a ratio to the same batches
 * with no stale change. Real app, real Postgres.
 */
import { openTestApp, type TestApp } from "../tests/support/app.ts";
import { change } from "../tests/support/changes.ts";

const ITEMS = 500;
const ROUNDS = 10;

export async function run(): Promise<string[]> {
  await using t = await openTestApp("postgres");
  const clean = await measure(t, "clean", 0);
  const stale = await measure(t, "stale", 0.1);
  if (stale.merged !== ITEMS * 0.1 * (ROUNDS - 1)) {
    throw new Error(`Expected merges, got ${stale.merged}`);
  }
  return [
    `conflicts: ${ROUNDS} batches of ${ITEMS} ssh_profiles updates`,
    `  no stale changes  ${clean.rate.toFixed(0)} changes/s`,
    `  10 % stale        ${
      stale.rate.toFixed(0)
    } changes/s (${stale.merged} merged by field_merge)`,
    `  ratio             ${(stale.rate / clean.rate).toFixed(2)}x`,
  ];
}

async function measure(
  t: TestApp,
  user: string,
  staleShare: number,
): Promise<{ rate: number; merged: number }> {
  const device = await t.device(user);
  const profile = (i: number, round: number) => ({
    name: `host-${i}`,
    host: `h${i}.example.com`,
    username: "deploy",
    port: 22,
    tags: ["bench"],
    notes: `round ${round}`,
  });
  const versions = new Array(ITEMS).fill(null) as (number | null)[];
  let elapsed = 0;
  let merged = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    const changes = versions.map((version, i) => {
      // Each round a different slice goes stale, so its last two versions were plain
      // updates: the stale change edits `port` on top of the version before last.
      const slice = ITEMS * staleShare;
      const stale = round > 1 && slice > 0 && Math.floor(i / slice) === round % 10;
      const data = stale ? { ...profile(i, round - 2), port: 2000 + round } : profile(i, round);
      return change("ssh_profiles", `p${i}`, data, {
        base_version: stale ? version! - 1 : version,
        modified_at: 1_700_000_000_000 + round,
      });
    });
    const start = performance.now();
    const res = await t.request("POST", "/api/sync/data", {
      token: device.token,
      body: { changes },
    });
    const { results } = await res.json();
    // Round 0 creates the items; it is set-up, not measured.
    if (round > 0) elapsed += performance.now() - start;
    results.forEach((r: { status: string; version?: number }, i: number) => {
      versions[i] = r.version ?? versions[i];
      if (r.status === "merged") merged++;
    });
  }
  return { rate: (ITEMS * ROUNDS) / (elapsed / 1000), merged };
}

if (import.meta.main) console.log((await run()).join("\n"));
