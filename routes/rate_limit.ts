import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { AppError } from "../sync/errors.ts";
import { addressKey, deviceKey, userKey } from "../sync/redis_keys.ts";
import type { Limiter, Quota } from "../sync/rate_limit/limiter.ts";
import {
  type PolicyState,
  rateLimitHeaders,
  retryAfterSeconds,
} from "../sync/rate_limit/rate_limit_headers.ts";
import type { RateLimits } from "../sync/rate_limit/tier_rate_limits.ts";
import type { AppEnv } from "./env.ts";

/** The budget a refused request ran out of. */
export type LimitedScope = "device" | "user" | "ip";

interface Check {
  name: "device" | "user";
  key: string;
  quota: Quota;
}

/** Told of every refused request, e.g. to count `rateLimitRejections{route, scope}`. */
export type OnLimited = (route: string, scope: LimitedScope) => void;

/** Everything the app needs to limit requests (createApp's `rateLimiting`). */
export interface RateLimiting extends RateLimitOptions {
  /** Failed authentications per client address per minute. */
  authFailuresPerMinute: number;
  clientIpHeader?: string;
}

/** Router dependencies: the budget check to mount right after authentication. */
export interface LimitDeps {
  limit: MiddlewareHandler<AppEnv>;
}

export interface RateLimitOptions {
  limiter: Limiter;
  limits: RateLimits;
  onLimited?: OnLimited;
}

/**
 * Per-device and per-user budgets by tier (DESIGN.md §5). Mount after authentication:
 * a device token counts against its device's budget and its user's, an account token
 * against its user's. Every answer carries `RateLimit-Policy` and `RateLimit`, so clients
 * see their remaining budget before they run out; a refusal is 429 `SYNC_RATE_LIMITED`
 * with `Retry-After`.
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const account = c.get("account");
    const device = c.get("device");
    const budgets = options.limits.tiers[account.tier];
    const quota = (limit: number): Quota => ({
      limit,
      windowSeconds: options.limits.windowSeconds,
    });
    const checks: Check[] = [{
      name: "user",
      key: userKey(account.userId, "rate"),
      quota: quota(budgets.user),
    }];
    if (device) {
      checks.unshift({
        name: "device",
        key: deviceKey(account.userId, device.deviceId, "rate"),
        quota: quota(budgets.device),
      });
    }
    // Both go out together: one round trip to a shared store.
    const states = await Promise.all(checks.map(async ({ name, key, quota }) => ({
      name,
      quota,
      verdict: await options.limiter.consume(key, quota),
    })));
    for (const [name, value] of Object.entries(rateLimitHeaders(states))) c.header(name, value);
    const refused = states.find((s) => !s.verdict.allowed);
    if (refused) {
      options.onLimited?.(routePath(c, -1), refused.name);
      throw limited(refused.name, states);
    }
    await next();
  };
}

export interface AuthFailureLimitOptions {
  limiter: Limiter;
  /** Failed authentications a client address may make per minute before it is refused. */
  perMinute: number;
  /** The header a trusted proxy puts the client address in; its last entry is used. */
  clientIpHeader?: string;
  onLimited?: OnLimited;
  clock?: () => number;
}

/**
 * Addresses remembered as refused, per instance. Past it, expired entries are swept, then
 * the oldest refusal is forgotten: that address reaches authentication again and is
 * refused again by the shared budget, so a flood from many addresses costs bounded memory.
 */
export const MAX_REFUSED_ADDRESSES = 10_000;

/**
 * Budgets failed authentications per client address, so a flood of invalid tokens cannot
 * cost a database lookup each for free: every 401 is counted (shared, as other budgets),
 * and once an address is over its budget this instance refuses its requests with 429
 * before they reach authentication, from memory, until the window resets. Mount before
 * authentication.
 */
export function authFailureLimit(options: AuthFailureLimitOptions): MiddlewareHandler<AppEnv> {
  const clock = options.clock ?? Date.now;
  const quota: Quota = { limit: options.perMinute, windowSeconds: 60 };
  const refusedUntil = new Map<string, number>();
  return async (c, next) => {
    const address = clientAddress(c, options.clientIpHeader);
    const until = refusedUntil.get(address);
    if (until !== undefined) {
      if (until > clock()) {
        options.onLimited?.(routePath(c, -1), "ip");
        const verdict = {
          allowed: false,
          remaining: 0,
          resetSeconds: Math.ceil((until - clock()) / 1000),
        };
        throw limited("ip", [{ name: "ip", quota, verdict }]);
      }
      refusedUntil.delete(address);
    }
    await next();
    if (c.res.status !== 401) return;
    const verdict = await options.limiter.consume(addressKey(address, "auth"), quota);
    if (verdict.allowed) return;
    if (refusedUntil.size >= MAX_REFUSED_ADDRESSES) {
      for (const [key, at] of refusedUntil) if (at <= clock()) refusedUntil.delete(key);
      if (refusedUntil.size >= MAX_REFUSED_ADDRESSES) {
        refusedUntil.delete(refusedUntil.keys().next().value!);
      }
    }
    refusedUntil.set(address, clock() + verdict.resetSeconds * 1000);
  };
}

function limited(scope: LimitedScope, states: readonly PolicyState[]): AppError {
  const state = states.find((s) => s.name === scope)!;
  const retryAfter = retryAfterSeconds(states);
  return new AppError(
    "SYNC_RATE_LIMITED",
    `Too many requests for this ${scope}: ${state.quota.limit} per ${state.quota.windowSeconds} s; retry in ${retryAfter} s`,
    {
      scope,
      limit: state.quota.limit,
      window_seconds: state.quota.windowSeconds,
      retry_after: retryAfter,
    },
  );
}

/**
 * The client's address: the last entry of `header` when a trusted proxy sets it (the one
 * the proxy appended, which a client cannot forge), else the connection's peer.
 */
function clientAddress(c: Context<AppEnv>, header: string | undefined): string {
  const forwarded = header ? c.req.header(header)?.split(",").at(-1)?.trim() : undefined;
  if (forwarded) return forwarded;
  const peer = (c.env as { remoteAddr?: Deno.NetAddr } | undefined)?.remoteAddr;
  return peer?.hostname ?? "unknown";
}
