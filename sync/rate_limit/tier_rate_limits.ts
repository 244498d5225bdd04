import { z } from "zod";
import { type Tier, TIERS } from "../tiers.ts";

/** Who a budget belongs to: one device, or one user across all of its devices. */
export type RateLimitScope = "device" | "user";

/** Requests per window for each scope of one tier. */
export type ScopeLimits = Record<RateLimitScope, number>;

/** The budgets of every tier, in requests per `windowSeconds`. */
export interface RateLimits {
  windowSeconds: number;
  tiers: Record<Tier, ScopeLimits>;
}

/** The contract's defaults (DESIGN.md §5): requests per minute, per device and per user. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  windowSeconds: 60,
  tiers: {
    free: { device: 120, user: 240 },
    pro: { device: 1_200, user: 4_800 },
    team: { device: 1_200, user: 4_800 },
    enterprise: { device: 6_000, user: 24_000 },
  },
};

const Budget = z.number().int().min(1).max(10_000_000);

/**
 * A deployment's override of some budgets, as `RATE_LIMITS` holds it (JSON), e.g.
 * `{"free":{"device":60},"enterprise":{"device":20000,"user":80000}}`. Tiers and scopes
 * left out keep their defaults; unknown names are refused, so a typo cannot pass silently.
 */
export const RateLimitsOverride = z.partialRecord(
  z.enum(TIERS),
  z.strictObject({ device: Budget.optional(), user: Budget.optional() }),
);
export type RateLimitsOverride = z.infer<typeof RateLimitsOverride>;

/**
 * The defaults with a deployment's override applied.
 * @example withOverride({ free: { device: 60 } }).tiers.free // { device: 60, user: 240 }
 */
export function withOverride(
  override: RateLimitsOverride = {},
  base: RateLimits = DEFAULT_RATE_LIMITS,
): RateLimits {
  const tiers = Object.fromEntries(
    TIERS.map((tier) => [tier, { ...base.tiers[tier], ...override[tier] }]),
  ) as Record<Tier, ScopeLimits>;
  return { windowSeconds: base.windowSeconds, tiers };
}
