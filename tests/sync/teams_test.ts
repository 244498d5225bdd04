import assert from "node:assert/strict";
import { splitByOwner } from "../../sync/owner_split.ts";
import { prepareChange } from "../../sync/prepare_change.ts";
import { ownerOf, syncedTeam, teamWriteRefusal } from "../../sync/teams.ts";
import { TIERS } from "../../sync/tiers.ts";
import type { Account } from "../../sync/tiers.ts";
import { command } from "../support/changes.ts";
import { profile, teamChange } from "../support/teams.ts";

const account = (overrides: Partial<Account> = {}): Account => ({
  userId: "ann",
  tier: "team",
  tierExpiresAt: null,
  teamId: "acme",
  teamRole: "admin",
  ...overrides,
});

Deno.test("syncedTeam() is the token's team for the team and enterprise tiers only", () => {
  assert.deepEqual(
    TIERS.map((tier) => syncedTeam(account({ tier }))),
    [null, null, "acme", "acme"],
  );
  assert.equal(syncedTeam(account({ teamId: null })), null);
  // An expired tier still reads its team's items.
  assert.equal(syncedTeam(account({ tierExpiresAt: 1 })), "acme");
});

Deno.test("teamWriteRefusal() lets admins of a team tier write, and says why no one else may", () => {
  assert.equal(teamWriteRefusal(account()), null);
  assert.equal(teamWriteRefusal(account({ tier: "enterprise" })), null);
  assert.deepEqual(teamWriteRefusal(account({ tier: "free" }))?.details, {
    upgrade: { tier: "team", reason: "team_sync" },
  });
  assert.equal(teamWriteRefusal(account({ teamId: null }))?.code, "FORBIDDEN");
  assert.equal(teamWriteRefusal(account({ teamRole: "member" }))?.code, "FORBIDDEN");
});

Deno.test("ownerOf() puts team_ssh_profiles under team:<id>, and everything else under the user", () => {
  assert.equal(ownerOf("team_ssh_profiles", account()), "team:acme");
  assert.equal(ownerOf("ssh_profiles", account()), "ann");
  assert.equal(ownerOf("team_ssh_profiles", account({ tier: "pro" })), "ann");
});

Deno.test("splitByOwner() keeps batch order within each part, the user's part first", () => {
  const changes = [
    teamChange("a", profile("a")),
    command("ls"),
    { not: "a change" },
    teamChange("b", profile("b")),
  ].map(prepareChange);
  const every = () => new Set(["team_ssh_profiles" as const]);
  const parts = splitByOwner(changes, account(), every);
  assert.deepEqual(parts.map((p) => [p.owner, p.indices]), [["ann", [1, 2]], ["team:acme", [
    0,
    3,
  ]]]);
  // A member's team changes stay in the user's part, rejected; no team transaction at all.
  const member = splitByOwner(changes, account({ teamRole: "member" }), every);
  assert.deepEqual(member.map((p) => [p.owner, p.indices]), [["ann", [0, 1, 2, 3]]]);
  assert.deepEqual(
    member[0].changes.map((c) => c.ok ? "ok" : c.error.code),
    ["FORBIDDEN", "ok", "VALIDATION_FAILED", "FORBIDDEN"],
  );
  // A device that does not send team_ssh_profiles: the same, whatever its role.
  const none = splitByOwner(changes, account(), () => new Set());
  assert.deepEqual(none.map((p) => p.owner), ["ann"]);
});
