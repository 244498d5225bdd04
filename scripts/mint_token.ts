/**
 * `deno task mint-token --user alice [--tier pro] [--days 30] [--tier-expires-days N] [--team T]`
 * Prints an account token signed with JWT_SECRET, or with the embedded default's
 * generated secret in DATA_DIR.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../config.ts";
import { mintAccountToken } from "../sync/account_tokens.ts";
import { loadOrCreateDevSecret } from "../sync/dev_secret.ts";
import { type Tier, TIERS } from "../sync/tiers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    user: { type: "string" },
    tier: { type: "string", default: "pro" },
    days: { type: "string", default: "30" },
    "tier-expires-days": { type: "string" },
    team: { type: "string" },
  },
});
if (!values.user || !(TIERS as readonly string[]).includes(values.tier!)) {
  console.error(`Usage: deno task mint-token --user <id> [--tier ${TIERS.join("|")}] [--days 30]`);
  Deno.exit(2);
}
const config = loadConfig(Deno.env.toObject());
const secret = config.JWT_SECRET ?? await loadOrCreateDevSecret(config.DATA_DIR);
const days = Number(values.days);
const tierDays = values["tier-expires-days"];
console.log(
  await mintAccountToken(secret, {
    userId: values.user,
    tier: values.tier as Tier,
    expiresInSeconds: Math.round(days * 86400),
    ...(tierDays && { tierExpiresAt: Math.floor(Date.now() / 1000 + Number(tierDays) * 86400) }),
    ...(values.team && { teamId: values.team }),
    ...(config.JWT_ISSUER && { issuer: config.JWT_ISSUER }),
    ...(config.JWT_AUDIENCE && { audience: config.JWT_AUDIENCE }),
  }),
);
