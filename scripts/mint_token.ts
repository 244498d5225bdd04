/**
 * `deno task mint-token --user alice [--tier pro] [--days 30] [--tier-expires-days N]
 *   [--team T] [--team-role admin|member]`
 * Prints an account token signed with JWT_SECRET, or with the embedded default's
 * generated secret in DATA_DIR. With JWT_PUBLIC_KEY or JWT_JWKS_URL the service accepts only
 * tokens of its identity provider, so this refuses.
 */
import { parseArgs } from "node:util";
import { loadConfig, orExitOnConfigError, verifiesWithSecret } from "../config.ts";
import { MAX_TOKEN_LIFETIME_SECONDS, mintAccountToken } from "../sync/account_tokens.ts";
import { loadOrCreateDevSecret } from "../sync/dev_secret.ts";
import { TEAM_ROLES, type TeamRole, type Tier, TIERS } from "../sync/tiers.ts";

const USAGE = `Usage: deno task mint-token --user <id> [--tier ${TIERS.join("|")}] [--days 30] ` +
  `[--tier-expires-days N] [--team <id>] [--team-role ${TEAM_ROLES.join("|")}]`;

const { values } = parseOrExit();
const days = Number(values.days);
const tierDays = values["tier-expires-days"];
const teamRole = values["team-role"];
const problems = ([
  [!values.user, "--user is required"],
  [
    !(TIERS as readonly string[]).includes(values.tier!),
    `--tier must be one of ${TIERS.join(", ")}`,
  ],
  [
    !(days > 0 && days * 86400 <= MAX_TOKEN_LIFETIME_SECONDS),
    `--days must be above 0 and at most ${MAX_TOKEN_LIFETIME_SECONDS / 86400}`,
  ],
  [
    tierDays !== undefined && !Number.isFinite(Number(tierDays)),
    "--tier-expires-days must be a number",
  ],
  [
    teamRole !== undefined && !(TEAM_ROLES as readonly string[]).includes(teamRole),
    `--team-role must be one of ${TEAM_ROLES.join(", ")}`,
  ],
  [teamRole !== undefined && !values.team, "--team-role needs --team"],
] as const).filter(([wrong]) => wrong).map(([, message]) => message);
if (problems.length > 0) {
  console.error(`${problems.join("\n")}\n${USAGE}`);
  Deno.exit(2);
}
const config = await orExitOnConfigError(() => loadConfig(Deno.env.toObject()), 2);
if (!verifiesWithSecret(config)) {
  console.error(
    "JWT_PUBLIC_KEY or JWT_JWKS_URL is set: the service accepts only tokens signed by your " +
      "identity provider, so mint-token (HS256) cannot mint one",
  );
  Deno.exit(2);
}
const secret = config.JWT_SECRET ?? await loadOrCreateDevSecret(config.DATA_DIR);
console.log(
  await mintAccountToken(secret, {
    userId: values.user!,
    tier: values.tier as Tier,
    expiresInSeconds: Math.round(days * 86400),
    ...(tierDays && { tierExpiresAt: Math.floor(Date.now() / 1000 + Number(tierDays) * 86400) }),
    ...(values.team && { teamId: values.team }),
    ...(teamRole && { teamRole: teamRole as TeamRole }),
    ...(config.JWT_ISSUER && { issuer: config.JWT_ISSUER }),
    ...(config.JWT_AUDIENCE && { audience: config.JWT_AUDIENCE }),
  }),
);

/** The options, or exit: 0 with the usage for --help, 2 with what was wrong (no stack). */
function parseOrExit() {
  try {
    const parsed = parseArgs({
      args: Deno.args,
      options: {
        user: { type: "string" },
        tier: { type: "string", default: "pro" },
        days: { type: "string", default: "30" },
        "tier-expires-days": { type: "string" },
        team: { type: "string" },
        "team-role": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (parsed.values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    return parsed;
  } catch (error) {
    // parseArgs' own errors (an unknown option, a missing value) say what was wrong.
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    Deno.exit(2);
  }
}
