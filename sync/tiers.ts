import { AppError } from "./errors.ts";

/** Subscription tiers of the contract (DESIGN.md §8), lowest first. */
export const TIERS = ["free", "pro", "team", "enterprise"] as const;
export type Tier = typeof TIERS[number];

/** A member's role in the account token's team (DESIGN.md §11). */
export const TEAM_ROLES = ["admin", "member"] as const;
export type TeamRole = typeof TEAM_ROLES[number];

export interface TierLimits {
  devices: number;
  /** Prior versions kept; free keeps current data only. */
  keepsHistory: boolean;
  /** Days of command history kept; null = unlimited. */
  historyDays: number | null;
}

export const TIER_LIMITS: Record<Tier, TierLimits> = {
  free: { devices: 2, keepsHistory: false, historyDays: 7 },
  pro: { devices: 10, keepsHistory: true, historyDays: null },
  team: { devices: 10, keepsHistory: true, historyDays: null },
  // Enterprise limits are configured per deployment; these are the defaults.
  enterprise: { devices: 1000, keepsHistory: true, historyDays: null },
};

/** The account as the newest account token seen for the user describes it. */
export interface Account {
  userId: string;
  tier: Tier;
  /** ms since the epoch; null = no expiry. */
  tierExpiresAt: number | null;
  teamId: string | null;
  teamRole: TeamRole;
}

/**
 * True when the account's tier has run out: writes are refused, reads go on. The expiry
 * instant itself counts as expired.
 */
export function isExpired(account: Account, now: number): boolean {
  return account.tierExpiresAt !== null && account.tierExpiresAt <= now;
}

/**
 * Refuses writes of an expired tier with `SYNC_SUBSCRIPTION_EXPIRED`, offering to renew the
 * tier the account had (reads are not refused: nothing is deleted).
 */
export function assertWritable(account: Account, now: number): void {
  if (!isExpired(account, now)) return;
  const upgrade: Upgrade = { tier: account.tier, reason: "subscription_expired" };
  throw new AppError(
    "SYNC_SUBSCRIPTION_EXPIRED",
    "The subscription has expired: reads still work, writes do not",
    { upgrade },
  );
}

/**
 * `details.upgrade` of a tier refusal (DESIGN.md §8): the tier to offer, so apps can show
 * the upgrade prompt. `reason` is a stable machine-readable word, not prose.
 */
export interface Upgrade {
  tier: Tier;
  reason: "subscription_expired" | "device_limit" | "team_sync";
}

/**
 * The lowest tier whose limits allow what `allows` asks, or null when none does (the
 * enterprise limits are the deployment's own).
 * @example lowestTierAllowing((limits) => limits.devices > 2) === "pro"
 */
export function lowestTierAllowing(allows: (limits: TierLimits) => boolean): Tier | null {
  return TIERS.find((tier) => allows(TIER_LIMITS[tier])) ?? null;
}
