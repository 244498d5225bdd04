/** Subscription tiers of the contract (DESIGN.md §8). */
export const TIERS = ["free", "pro", "team", "enterprise"] as const;
export type Tier = typeof TIERS[number];

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

/** The account as a token describes it. */
export interface Account {
  userId: string;
  tier: Tier;
  /** ms since the epoch; null = no expiry. */
  tierExpiresAt: number | null;
  teamId: string | null;
}

/** True when the account's tier has run out: writes are refused, reads go on. */
export function isExpired(account: Account, now: number): boolean {
  return account.tierExpiresAt !== null && account.tierExpiresAt <= now;
}
