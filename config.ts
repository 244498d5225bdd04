import { z } from "zod";
import { RateLimitsOverride } from "./sync/rate_limit/tier_rate_limits.ts";

const optionalString = z.string().trim().min(1).optional();
const optionalUrl = (scheme: RegExp, what: string) =>
  z.string().trim().regex(scheme, `must be a ${what} URL`).optional();

const ConfigSchema = z.object({
  HOST: z.string().trim().regex(/^[A-Za-z0-9.:%-]+$/, "must be a host name or IP address")
    .default("0.0.0.0"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  DATABASE_URL: optionalUrl(/^postgres(ql)?:\/\//, "postgres://"),
  DATA_DIR: z.string().trim().min(1).default("./data"),
  REDIS_URL: optionalUrl(/^rediss?:\/\//, "redis://"),
  REDIS_CLUSTER_URLS: z.string().optional().transform((v) =>
    v ? v.split(",").map((s) => s.trim()).filter(Boolean) : undefined
  ),
  UPSTASH_REDIS_REST_URL: optionalUrl(/^https?:\/\//, "http(s)://"),
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  JWT_PUBLIC_KEY: optionalString,
  // The JWKS decides which tokens are trusted: fetched over https only (DESIGN.md §9).
  JWT_JWKS_URL: z.string().trim()
    .refine((v) => URL.parse(v)?.protocol === "https:", "must be a https:// URL").optional(),
  JWT_ALGORITHM: z.enum(["RS256", "ES256", "EdDSA", "PS256"]).default("RS256"),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  REPLICATION_SLOT: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase identifier")
    .default("devpocket_sync"),
  TOMBSTONE_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  ROLE: z.enum(["all", "api", "listener"]).default("all"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  WS_ALLOWED_ORIGINS: z.string().optional().transform((v) =>
    v ? v.split(",").map((s) => s.trim()).filter(Boolean) : []
  ),
  RATE_LIMITS: jsonOf(RateLimitsOverride, "a JSON object of tier → {device?, user?}").optional(),
  RATE_LIMIT_AUTH_FAILURES: z.coerce.number().int().min(1).default(30),
  CLIENT_IP_HEADER: z.string().trim().toLowerCase().regex(/^[a-z0-9-]+$/, "must be a header name")
    .optional(),
  JOBS_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(60),
  DEVICE_INACTIVE_DAYS: z.coerce.number().int().min(1).default(60),
  SYNC_CACHE: z.enum(["on", "off"]).default("on"),
  MEMORY_TRIM_SECONDS: z.coerce.number().min(0).default(1),
});

/** A variable holding JSON that `schema` validates. */
function jsonOf<T extends z.ZodType>(schema: T, what: string) {
  return z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text);
    } catch {
      ctx.addIssue({ code: "custom", message: `must be ${what}` });
      return z.NEVER;
    }
  }).pipe(schema);
}

/** Validated configuration; the only view of the environment the service has. */
export type Config = z.infer<typeof ConfigSchema>;

/** Raised when an environment variable is invalid; start-up stops with its message. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Runs `step`; a configuration problem exits with `code` and its message alone, no stack. */
export async function orExitOnConfigError<T>(
  step: () => T | Promise<T>,
  code = 1,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(code);
  }
}

/**
 * Parses the environment. Empty strings count as unset, so `FOO=` in a compose file
 * falls back to the default instead of failing validation.
 * @example loadConfig({ PORT: "8080" }).PORT === 8080
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join(".");
      const got = name.includes("SECRET") || name.includes("TOKEN")
        ? ""
        : `: got ${JSON.stringify(String(present[String(issue.path[0])] ?? ""))}`;
      return `${name} ${issue.message}${got}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  const config = parsed.data;
  if (config.UPSTASH_REDIS_REST_URL && !config.UPSTASH_REDIS_REST_TOKEN) {
    throw new ConfigError("UPSTASH_REDIS_REST_TOKEN must be set with UPSTASH_REDIS_REST_URL");
  }
  if (config.REDIS_URL && config.UPSTASH_REDIS_REST_URL) {
    throw new ConfigError("Set REDIS_URL or UPSTASH_REDIS_REST_URL, not both");
  }
  if (config.REDIS_CLUSTER_URLS) checkClusterUrls(config);
  if (config.DATABASE_URL && !config.JWT_SECRET && !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL) {
    throw new ConfigError(
      "JWT_SECRET (or JWT_PUBLIC_KEY / JWT_JWKS_URL) must be set with DATABASE_URL: every instance must verify the same account tokens",
    );
  }
  if (config.ROLE === "listener" && !config.DATABASE_URL) {
    throw new ConfigError("ROLE=listener needs DATABASE_URL: the embedded database has no WAL");
  }
  return config;
}

/**
 * REDIS_CLUSTER_URLS: seed nodes of a Redis Cluster, `redis://` or `rediss://` URLs with a
 * host and a port, comma-separated; any one that answers tells the client the rest.
 * Messages show a URL without its credentials.
 */
function checkClusterUrls(config: Config): void {
  if (config.REDIS_URL || config.UPSTASH_REDIS_REST_URL) {
    throw new ConfigError(
      "Set one of REDIS_URL, REDIS_CLUSTER_URLS or UPSTASH_REDIS_REST_URL, not several",
    );
  }
  for (const entry of config.REDIS_CLUSTER_URLS ?? []) {
    let url: URL | null = null;
    try {
      url = new URL(entry);
    } catch {
      // Reported below.
    }
    if (!url || !/^rediss?:$/.test(url.protocol) || !url.hostname || !url.port) {
      throw new ConfigError(
        "REDIS_CLUSTER_URLS must be comma-separated redis://host:port URLs: " +
          `got "${entry.replace(/\/\/[^@/]*@/, "//***@")}"`,
      );
    }
  }
}

/**
 * True when account tokens are HS256, signed with `JWT_SECRET` or the embedded default's
 * generated secret: only then can `deno task mint-token` mint tokens the service accepts.
 */
export function verifiesWithSecret(config: Config): boolean {
  return !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL;
}
