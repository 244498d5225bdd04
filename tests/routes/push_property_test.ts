import assert from "node:assert/strict";
import fc from "fast-check";
import { openTestApp, type TestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { outcome, pullAll, type PushResult } from "../support/sync_api.ts";

// Reproducible: a failure prints its seed and path; PUSH_PROPERTY_SEED replays another seed.
const SEED = Number(Deno.env.get("PUSH_PROPERTY_SEED") ?? 20_261_130);
const RUNS = 40;

const COLLECTIONS = ["commands", "ssh_profiles", "ssh_keys", "settings", "ai_preferences"];

/** Distinct change_ids within a batch (a repeated change_id is the same change, by contract). */
const changeId = (kind: "good" | "hostile", i: number) =>
  fc.constant(
    `00000000-0000-4000-${kind === "good" ? "8" : "9"}000-${String(i).padStart(12, "0")}`,
  );

/** Strings glued from pieces Postgres, JSON or JavaScript objects trip over. */
const hostileString = fc.array(
  fc.oneof(
    fc.constantFrom(
      "\u0000",
      "\ud800",
      "\udc00",
      "\udc00\ud800",
      "\ud83d\ude00",
      "\u0001",
      "\u001f",
      "\u007f",
      "\u2028",
      "\ufeff",
      "\uffff",
      '"',
      "\\",
      "\\u0000",
    ),
    fc.string({ maxLength: 6 }),
  ),
  { maxLength: 4 },
).map((pieces) => pieces.join(""));

const hostileKey = fc.oneof(
  hostileString,
  fc.constantFrom("__proto__", "constructor", "toString", "", "k".repeat(300), "x".repeat(5000)),
);

const hostileNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(1e308, -1e308, -0, 5e-324, 2 ** 53 + 2, 2 ** 70, -(2 ** 63)),
);

const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null)),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(hostileKey, tie("value"), { maxKeys: 3 }),
  ),
})).value;

/** `{a: {a: … value}}` a few thousand levels down, or not at all. */
const maybeDeep = (value: fc.Arbitrary<unknown>) =>
  fc.tuple(value, fc.oneof(fc.constant(0), fc.integer({ min: 60, max: 3000 }))).map(
    ([leaf, levels]) => {
      let out = leaf;
      for (let i = 0; i < levels; i++) out = { a: out };
      return out;
    },
  );

const hostileData = fc.oneof(
  fc.dictionary(hostileKey, maybeDeep(hostileJson), { maxKeys: 4 }),
  fc.record({
    command: hostileString,
    session_id: hostileString,
    started_at: hostileNumber,
    extra: maybeDeep(hostileJson),
  }),
  fc.record({
    name: hostileString,
    host: hostileString,
    username: hostileString,
    notes: hostileJson,
  }),
  fc.record({ provider: hostileString, templates: hostileJson }),
);

/** A change that may be anything from almost right to not an object at all. */
const hostileChange = (i: number) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        change_id: changeId("hostile", i),
        collection: fc.constantFrom(...COLLECTIONS),
        id: fc.constant(`h${i}`),
        op: fc.constant("upsert"),
        data: hostileData,
        base_version: fc.constant(null),
        modified_at: fc.oneof({ weight: 5, arbitrary: fc.nat() }, hostileNumber),
      }),
    },
    { weight: 1, arbitrary: fc.oneof(hostileJson, fc.dictionary(hostileKey, hostileJson)) },
  );

const safeKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
const safeJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", maxDepth: 4 },
    fc.string({ maxLength: 20 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(1e308, -0, 5e-324, 2 ** 70, Number.MAX_SAFE_INTEGER),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(safeKey, tie("value"), { maxKeys: 3 }),
  ),
})).value;

/** A change every check passes: a setting or a command nobody would filter. */
const goodChange = (i: number) =>
  fc.oneof(
    fc.record({
      change_id: changeId("good", i),
      collection: fc.constant("settings"),
      id: fc.constant(`g${i}`),
      op: fc.constant("upsert"),
      data: fc.dictionary(safeKey, safeJson, { minKeys: 1, maxKeys: 4 }),
      base_version: fc.constant(null),
      modified_at: fc.nat(),
    }),
    fc.record({
      change_id: changeId("good", i),
      collection: fc.constant("commands"),
      id: fc.constant(`g${i}`),
      op: fc.constant("upsert"),
      data: fc.record({
        command: fc.stringMatching(/^[a-z]{1,8}( [a-z0-9]{1,8}){0,3}$/).map((c) => `${c} ${i}`),
        session_id: fc.constant("s"),
        started_at: fc.nat(),
        note: safeJson,
      }),
      base_version: fc.constant(null),
      modified_at: fc.nat(),
    }),
  );

/** Good and hostile changes interleaved in a generated order. */
const batches = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 })).chain((
  [goods, hostiles],
) =>
  fc.tuple(
    fc.tuple(...Array.from({ length: goods }, (_, i) => goodChange(i))),
    fc.tuple(...Array.from({ length: hostiles }, (_, i) => hostileChange(i))),
    fc.array(fc.boolean(), { minLength: goods + hostiles, maxLength: goods + hostiles }),
  )
).map(([goods, hostiles, picks]) => {
  const g = [...goods];
  const h = [...hostiles];
  const batch = picks.map((takeGood) =>
    takeGood && g.length > 0
      ? { good: true, change: g.shift()! }
      : h.length > 0
      ? { good: false, change: h.shift()! }
      : { good: true, change: g.shift()! }
  );
  return batch;
});

async function pushRaw(t: TestApp, token: string, body: string) {
  const res = await t.request("POST", "/api/sync/data", { token, body });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { results: PushResult[]; cursor: string };
}

withDrivers("push (property)", (_open, kind) => {
  Deno.test({
    name:
      `hostile JSON mixed with good changes: never 5xx, the good are stored as sent, a retry answers the same (seed ${SEED})`,
    fn: async () => {
      await using t = await openTestApp(kind);
      let run = 0;
      await fc.assert(
        fc.asyncProperty(batches, async (batch) => {
          const d = await t.device(`user-${run++}`);
          // The wire form: what the service can see of a value (-0 is 0, NaN is null).
          const body = JSON.stringify({ changes: batch.map((b) => b.change) });
          const sent: unknown[] = JSON.parse(body).changes;
          const first = await pushRaw(t, d.token, body);
          assert.equal(first.results.length, batch.length);
          const stored = new Map((await pullAll(t, d.token)).map((i) => [i.id, i]));
          batch.forEach(({ good }, i) => {
            const result = first.results[i];
            const entry = sent[i] as { id?: string; collection?: string; data?: unknown };
            if (good) assert.deepEqual([outcome(result), result.version], ["applied", 1]);
            // Stored as sent comes back as sent: every good change, any accepted settings item.
            if (good || (outcome(result) === "applied" && entry.collection === "settings")) {
              assert.deepEqual(stored.get(entry.id!)?.data, entry.data);
            }
          });
          const applied = first.results.filter((r) => r.status === "applied").length;
          assert.equal(stored.size, applied);
          const retry = await pushRaw(t, d.token, body);
          assert.deepEqual(
            retry.results,
            first.results.map((r) => r.status === "applied" ? { ...r, status: "duplicate" } : r),
          );
          assert.equal(retry.cursor, first.cursor);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    },
  });
});
