import { loadConfig } from "../config.ts";
import { startService } from "../service.ts";
import { mintAccountToken } from "../sync/account_tokens.ts";
import { createLogger } from "../sync/logger.ts";
import type { TeamRole, Tier } from "../sync/tiers.ts";

/** The service a simulation talks to, and how it gets account tokens for its users. */
export interface Target extends AsyncDisposable {
  baseUrl: string;
  /** A one-line description for the report. */
  describe: string;
  accountToken(userId: string, options?: TokenOptions): Promise<string>;
  /** True when every token is the same user's (a given account token): one user only. */
  singleUser?: boolean;
}

/** What a simulated user's account token says. */
export interface TokenOptions {
  /** Default `pro`; `enterprise` allows more than 10 devices. */
  tier?: Tier;
  teamId?: string;
  teamRole?: TeamRole;
}

/** Signs account tokens with an HS256 secret, as `deno task mint-token` does. */
export function tokenMinter(secret: string): Target["accountToken"] {
  return (userId, options = {}) =>
    mintAccountToken(secret, {
      userId,
      tier: options.tier ?? "pro",
      expiresInSeconds: 3600,
      ...(options.teamId && { teamId: options.teamId, teamRole: options.teamRole }),
    });
}

/**
 * Starts the service in this process, wired as main.ts wires it from `env`: with no
 * DATABASE_URL an in-memory embedded database and an in-process bus; with DATABASE_URL
 * and REDIS_URL, Postgres, the WAL listener and Redis. JWT_SECRET is generated when unset.
 */
export async function startedTarget(env: Record<string, string | undefined>): Promise<Target> {
  const secret = env.JWT_SECRET ?? crypto.randomUUID() + crypto.randomUUID();
  const config = loadConfig({ ...env, JWT_SECRET: secret, LOG_LEVEL: env.LOG_LEVEL ?? "error" });
  const service = await startService(config, createLogger(config.LOG_LEVEL, console.error), {
    inMemory: true,
  });
  const listening = Promise.withResolvers<string>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ hostname, port }) => listening.resolve(`http://${hostname}:${port}`),
  }, service.app.fetch);
  const baseUrl = await listening.promise;
  return {
    baseUrl,
    describe: config.DATABASE_URL
      ? `service started here on Postgres (WAL listener) and ${service.bus.kind} bus`
      : "service started here, embedded (PGlite in memory, in-process bus)",
    accountToken: tokenMinter(secret),
    async [Symbol.asyncDispose]() {
      await service.hub.close();
      await server.shutdown();
      await service.close();
    },
  };
}

/** A running service at `baseUrl`, with either one account token or the JWT secret. */
export function remoteTarget(
  baseUrl: string,
  auth: { accountToken: string } | { jwtSecret: string },
): Target {
  return {
    baseUrl,
    describe: `service at ${baseUrl}`,
    accountToken: "jwtSecret" in auth
      ? tokenMinter(auth.jwtSecret)
      : () => Promise.resolve(auth.accountToken),
    singleUser: "accountToken" in auth,
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}
