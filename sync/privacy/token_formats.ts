/**
 * Well-known credential formats: a recognisable prefix (or shape) that makes the value a
 * secret wherever it appears, whatever it is called. Publishable keys (Stripe `pk_`),
 * account and key ids (AWS `AIDA…`, Twilio `AC…`) are not secrets and are left out.
 *
 * Audited for linear time on V8's backtracking engine: every repeat is a fixed or bounded
 * count (so a failed start costs at most that many steps), except the JWT's, which can
 * only start where its run starts.
 * @module
 */
const FORMATS: readonly string[] = [
  // Cloud: AWS access keys, Google API keys, OAuth access tokens and client secrets,
  // Azure AD client secrets, Alibaba, DigitalOcean, Hetzner-style none (no prefix).
  String.raw`\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b`,
  String.raw`\bAIza[0-9A-Za-z_-]{35}`,
  String.raw`\bya29\.[0-9A-Za-z_-]{20}`,
  String.raw`\bGOCSPX-[0-9A-Za-z_-]{20}`,
  String.raw`\b[0-9A-Za-z_~.-]{3}\dQ~[0-9A-Za-z_~.-]{31,34}`,
  String.raw`\bLTAI[0-9A-Za-z]{12,20}\b`,
  String.raw`\bdo[opr]_v1_[0-9a-f]{64}`,
  // Version control and CI: GitHub, GitLab, Bitbucket, Atlassian, Buildkite, CircleCI,
  // SonarQube.
  String.raw`\bgh[pousr]_[0-9A-Za-z]{36}`,
  String.raw`\bgithub_pat_[0-9A-Za-z_]{22}`,
  String.raw`\bgl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|imt|agent|ffct)-[0-9A-Za-z_-]{20}`,
  String.raw`\bGR1348941[0-9A-Za-z_-]{20}`,
  String.raw`\bATATT3[0-9A-Za-z_=-]{60}`,
  String.raw`\bATBB[0-9A-Za-z]{28}`,
  String.raw`\bbkua_[0-9a-f]{40}`,
  String.raw`\bsq[uap]_[0-9a-f]{40}\b`,
  // Chat: Slack tokens and webhooks, Discord webhooks, Telegram bot tokens.
  String.raw`\bxox[abposre]-[0-9A-Za-z-]{10}`,
  String.raw`\bxapp-\d-[0-9A-Z]{8}`,
  String.raw`hooks\.slack\.com/(?:services|workflows|triggers)/[0-9A-Za-z_/-]{20}`,
  String.raw`discord(?:app)?\.com/api/webhooks/\d{5,30}/[0-9A-Za-z_-]{20}`,
  String.raw`(?<!\d)\d{8,10}:AA[0-9A-Za-z_-]{33}`,
  // Payment: Stripe secret and restricted keys and webhook secrets, Square, Shopify.
  String.raw`\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16}`,
  String.raw`\bwhsec_[0-9A-Za-z]{24}`,
  String.raw`\bsq0(?:atp|csp)-[0-9A-Za-z_-]{22}`,
  String.raw`\bshp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}`,
  // AI providers: OpenAI, Anthropic, Hugging Face, Replicate, Groq, Perplexity, xAI,
  // OpenRouter, NVIDIA, Tavily.
  String.raw`\bsk-(?:proj|svcacct|admin|None)-[0-9A-Za-z_-]{20}`,
  String.raw`\bsk-ant-(?:api|admin|sid)\d\d-[0-9A-Za-z_-]{20}`,
  String.raw`\bsk-[0-9A-Za-z]{20}T3BlbkFJ`,
  String.raw`\bsk-[0-9A-Za-z]{40}`,
  String.raw`\bhf_[A-Za-z]{34}\b`,
  String.raw`\br8_[0-9A-Za-z]{37}\b`,
  String.raw`\bgsk_[0-9A-Za-z]{48}`,
  String.raw`\bpplx-[0-9A-Za-z]{40}`,
  String.raw`\bsk-or-v1-[0-9a-f]{64}`,
  String.raw`\bnvapi-[0-9A-Za-z_-]{64}`,
  String.raw`\btvly-[0-9A-Za-z]{32}`,
  String.raw`\bxai-[0-9A-Za-z]{40}`,
  // Package registries: npm, crates.io, PyPI, RubyGems, NuGet, Docker Hub, JFrog.
  String.raw`\bnpm_[0-9A-Za-z]{36}`,
  String.raw`\bcio[0-9A-Za-z]{32}\b`,
  String.raw`\bpypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50}`,
  String.raw`\brubygems_[0-9a-f]{48}`,
  String.raw`\boy2[0-9a-z]{43}\b`,
  String.raw`\bdckr_pat_[0-9A-Za-z_-]{20}`,
  String.raw`\bAKCp[0-9A-Za-z]{69}`,
  // Mail and messaging: SendGrid, Mailgun, Mailchimp, Twilio API keys.
  String.raw`\bSG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}`,
  String.raw`\bkey-[0-9a-f]{32}\b`,
  String.raw`\b[0-9a-f]{32}-us\d{1,2}\b`,
  String.raw`\bSK[0-9a-f]{32}\b`,
  // Secret managers and platforms: Vault, 1Password, Doppler, Pulumi, Terraform Cloud,
  // Databricks, Linear, Notion, Figma, Netlify, Heroku, Postman, Sentry, Grafana,
  // New Relic, Honeycomb, Dynatrace, Supabase, PlanetScale, Airtable, Mapbox, Fly.io, Tailscale, age,
  // Docker Swarm join tokens.
  String.raw`\bhv[sbr]\.[0-9A-Za-z_-]{24}`,
  String.raw`\bops_[0-9A-Za-z_-]{40}`,
  String.raw`\bdp\.(?:st|pt|ct|sa|scim|audit)\.[0-9A-Za-z._-]{40}`,
  String.raw`\bpul-[0-9a-f]{40}\b`,
  String.raw`\b[0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_=-]{60}`,
  String.raw`\bdapi[0-9a-f]{32}\b`,
  String.raw`\blin_(?:api|oauth)_[0-9A-Za-z]{40}`,
  String.raw`\b(?:secret_[0-9A-Za-z]{43}|ntn_[0-9A-Za-z]{46})\b`,
  String.raw`\bfig[dho]_[0-9A-Za-z_-]{40}`,
  String.raw`\bnf[pc]_[0-9A-Za-z]{36}`,
  String.raw`\bHRKU-[0-9A-Za-z_-]{30}`,
  String.raw`\bPMAK-[0-9a-f]{24}-[0-9a-f]{34}`,
  String.raw`\bsntr[ysu]_[0-9A-Za-z_-]{30}`,
  String.raw`\bglc_[0-9A-Za-z_-]{32}`,
  String.raw`\bglsa_[0-9A-Za-z]{32}_[0-9a-f]{8}`,
  String.raw`\bNRAK-[0-9A-Z]{27}\b`,
  String.raw`\bhc[ax][im]k_[0-9a-z]{40}`,
  String.raw`\bdt0c01\.[0-9A-Z]{24}\.[0-9A-Z]{64}`,
  String.raw`\bsbp_[0-9a-f]{40}`,
  String.raw`\bpscale_(?:tkn|pw|oauth)_[0-9A-Za-z_.-]{32}`,
  String.raw`\bpat[0-9A-Za-z]{14}\.[0-9a-f]{64}\b`,
  String.raw`\bsk\.eyJ[0-9A-Za-z_-]{20}`,
  String.raw`\bfo1_[0-9A-Za-z_-]{40}`,
  String.raw`\btskey-(?:auth|client|api)-[0-9A-Za-z]{8}`,
  String.raw`\bAGE-SECRET-KEY-1[0-9A-Z]{58}`,
  String.raw`\bSWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}`,
  // JSON Web Tokens (signed: three segments, the first two JSON objects). The lookbehind
  // starts a match only where a run of segment characters starts, so no run is rescanned.
  String.raw`(?<![0-9A-Za-z_-])eyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{16}`,
];

const KNOWN_TOKEN = new RegExp(FORMATS.join("|"));
// Every format above holds a run of 16 of these; most commands hold none, and testing for
// one is a single cheap scan, where the alternation costs a try of each format per character.
const TOKEN_RUN = /[0-9A-Za-z_.~-]{16}/;

/** True when `text` holds a credential in one of the well-known formats. */
export function holdsKnownToken(text: string): boolean {
  return TOKEN_RUN.test(text) && KNOWN_TOKEN.test(text);
}
