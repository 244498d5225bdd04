/** Builders for team sync tests (DESIGN.md §11). */
import type { TestApp } from "./app.ts";
import { change } from "./changes.ts";
import type { Tier } from "../../sync/tiers.ts";

/** A `team_ssh_profiles` item's data. */
export function profile(name: string, extra: Record<string, unknown> = {}) {
  return { name, host: `${name}.example.com`, username: "ops", ...extra };
}

/** An upsert (or, with no data, a delete) of a team profile. */
export function teamChange(
  id: string,
  data: Record<string, unknown> | undefined,
  overrides: Record<string, unknown> = {},
) {
  return change("team_ssh_profiles", id, data, overrides);
}

/**
 * Registers a device of `userId` with an account token naming `teamId` (null: none) and
 * `role`, on `tier` (default `team`). A later call for the same user records a newer
 * token (a second later), so it sets the account.
 */
export async function teamDevice(
  t: TestApp,
  userId: string,
  teamId: string | null,
  role: "admin" | "member" = "member",
  { tier = "team", name = "phone" }: { tier?: Tier; name?: string } = {},
): Promise<{ id: string; token: string }> {
  return await t.device(userId, name, tier, {
    ...(teamId !== null && { teamId, teamRole: role }),
    issuedAt: nextIat(),
  });
}

/**
 * Records a newer account token for `userId` (a device list with it), as when the identity
 * provider issues one after the user changed team or tier.
 */
export async function changeAccount(
  t: TestApp,
  userId: string,
  account: { tier?: Tier; teamId?: string | null; role?: "admin" | "member" },
): Promise<void> {
  const token = await t.accountToken(userId, account.tier ?? "team", {
    ...(account.teamId && { teamId: account.teamId, teamRole: account.role ?? "member" }),
    issuedAt: nextIat(),
  });
  const res = await t.request("GET", "/api/devices", { token });
  if (res.status !== 200) throw new Error(`listing devices failed: ${res.status}`);
  await res.body?.cancel();
}

// Strictly increasing `iat`s starting a little in the past (an `iat` from the future is
// refused), each token valid for an hour after it.
let lastIat = Math.floor(Date.now() / 1000) - 600;
function nextIat(): number {
  return ++lastIat;
}
