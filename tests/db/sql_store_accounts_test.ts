import assert from "node:assert/strict";
import { SqlStore } from "../../db/sql_store.ts";
import type { Account } from "../../sync/tiers.ts";
import { withDrivers } from "../support/drivers.ts";

const account = (tier: Account["tier"], teamId: string | null = null): Account => ({
  userId: "erin",
  tier,
  tierExpiresAt: null,
  teamId,
  teamRole: "member",
});

withDrivers("SqlStore.saveAccount()", (open) => {
  Deno.test({
    name: "keeps the newest token whatever order concurrent requests record them in",
    fn: async () => {
      await using db = await open();
      const store = new SqlStore(db.driver);
      // 24 tokens, iat 1..24, recorded all at once in a shuffled order; the first ones
      // race to create the user's row.
      const iats = Array.from({ length: 24 }, (_, i) => i + 1)
        .map((iat) => ({ iat, key: Math.random() }))
        .sort((a, b) => a.key - b.key)
        .map(({ iat }) => iat);
      const answers = await Promise.all(
        iats.map((iat) =>
          store.saveAccount({ account: account("pro", `team-${iat}`), issuedAt: iat })
        ),
      );
      // Every answer is the account as it stood after that token: never an older one.
      for (const [i, answer] of answers.entries()) {
        assert.ok(Number(answer.teamId!.slice("team-".length)) >= iats[i], answer.teamId!);
      }
      const [row] = await db.driver.query<{ team_id: string; token_iat: number }>(
        "select team_id, token_iat from users where user_id = 'erin'",
      );
      assert.deepEqual([row.team_id, Number(row.token_iat)], ["team-24", 24]);
    },
  });

  Deno.test({
    name: "an older token answers the stored account; an equal one replaces it",
    fn: async () => {
      await using db = await open();
      const store = new SqlStore(db.driver);
      assert.equal(
        (await store.saveAccount({ account: account("pro"), issuedAt: 100 })).tier,
        "pro",
      );
      assert.equal(
        (await store.saveAccount({ account: account("free"), issuedAt: 99 })).tier,
        "pro",
      );
      assert.equal(
        (await store.saveAccount({ account: account("team"), issuedAt: 100 })).tier,
        "team",
      );
      assert.equal(
        (await store.saveAccount({ account: account("pro"), issuedAt: 101 })).tier,
        "pro",
      );
    },
  });
});
