import type { Quota, Verdict } from "./limiter.ts";

/** One policy's budget and what the current request left of it. */
export interface PolicyState {
  /** The policy's name on the wire: `device`, `user` or `ip`. */
  name: "device" | "user" | "ip";
  quota: Quota;
  verdict: Verdict;
}

/**
 * The `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-10
 * (Structured Field Lists of String items with `q`/`w` and `r`/`t` parameters), e.g.
 * `RateLimit-Policy: "device";q=120;w=60, "user";q=240;w=60` and
 * `RateLimit: "device";r=119;t=60, "user";r=239;t=60`.
 */
export function rateLimitHeaders(states: readonly PolicyState[]): Record<string, string> {
  return {
    "RateLimit-Policy": states
      .map((s) => `"${s.name}";q=${s.quota.limit};w=${s.quota.windowSeconds}`).join(", "),
    "RateLimit": states
      .map((s) => `"${s.name}";r=${s.verdict.remaining};t=${s.verdict.resetSeconds}`).join(", "),
  };
}

/**
 * `Retry-After` for a refused request: the longest wait among the policies that refused
 * it (the draft: never earlier than their reset).
 */
export function retryAfterSeconds(states: readonly PolicyState[]): number {
  return Math.max(
    1,
    ...states.filter((s) => !s.verdict.allowed).map((s) => s.verdict.resetSeconds),
  );
}
