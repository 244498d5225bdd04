import * as jose from "jose";
import { z } from "zod";
import { AppError } from "./errors.ts";
import { type Account, TEAM_ROLES, TIERS } from "./tiers.ts";
import { TEAM_OWNER_PREFIX } from "./teams.ts";

/** Tokens whose `exp − iat` is longer than this are refused, whoever signed them. */
export const MAX_TOKEN_LIFETIME_SECONDS = 400 * 24 * 3600;
/** Clock skew allowed between the token's issuer and this service, for `exp` and `iat`. */
export const CLOCK_TOLERANCE_SECONDS = 30;

export interface AccountTokenOptions {
  secret?: string;
  publicKey?: string;
  jwksUrl?: string;
  algorithm: "RS256" | "ES256" | "EdDSA" | "PS256";
  issuer?: string;
  audience?: string;
}

/** A verified account token: the account it describes and when it was issued. */
export interface AccountToken {
  account: Account;
  /** The token's `iat` (unix seconds): the newest token seen for a user sets its account. */
  issuedAt: number;
}

/** An id from a claim: stored as text, so no NUL and no lone surrogate (it would change). */
const ClaimId = z.string().min(1).max(256).refine(
  (id) => id.isWellFormed() && !id.includes("\u0000"),
  "must be well-formed text without NUL",
);

const Claims = z.object({
  // No account may be a team's owner key: it would read the team's items as its own.
  sub: ClaimId.refine((sub) => !sub.startsWith(TEAM_OWNER_PREFIX)),
  exp: z.number(),
  iat: z.number(),
  tier: z.enum(TIERS).default("free"),
  // Up to 9999-12-31: a later instant (say, milliseconds sent as seconds) fits no timestamptz.
  tier_expires_at: z.number().int().positive().max(253_402_300_799).optional(),
  team_id: ClaimId.optional(),
  team_role: z.enum(TEAM_ROLES).default("member"),
});

/** Verifies account JWTs with one pinned algorithm; every failure is `UNAUTHORIZED`. */
export class AccountTokenVerifier {
  private constructor(
    private readonly key: Uint8Array | jose.CryptoKey | ReturnType<typeof jose.createRemoteJWKSet>,
    private readonly algorithm: string,
    private readonly options: AccountTokenOptions,
  ) {}

  static async create(options: AccountTokenOptions): Promise<AccountTokenVerifier> {
    if (options.publicKey) {
      const key = await jose.importSPKI(
        options.publicKey.replaceAll("\\n", "\n"),
        options.algorithm,
      );
      return new AccountTokenVerifier(key, options.algorithm, options);
    }
    if (options.jwksUrl) {
      return new AccountTokenVerifier(
        jose.createRemoteJWKSet(new URL(options.jwksUrl)),
        options.algorithm,
        options,
      );
    }
    if (!options.secret) throw new Error("JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL must be set");
    return new AccountTokenVerifier(new TextEncoder().encode(options.secret), "HS256", options);
  }

  /**
   * Checks signature, algorithm, `exp`, `iat` (required, not in the future beyond the clock
   * tolerance), `exp − iat` and, when configured, `iss` and `aud`.
   */
  async verify(token: string, now = Date.now()): Promise<AccountToken> {
    let payload: jose.JWTPayload;
    try {
      const verifyOptions: jose.JWTVerifyOptions = {
        algorithms: [this.algorithm],
        requiredClaims: ["exp", "iat", "sub"],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        // With a maximum age jose also refuses an `iat` in the future (beyond the tolerance).
        maxTokenAge: MAX_TOKEN_LIFETIME_SECONDS,
        currentDate: new Date(now),
        ...(this.options.issuer && { issuer: this.options.issuer }),
        ...(this.options.audience && { audience: this.options.audience }),
      };
      payload = typeof this.key === "function"
        ? (await jose.jwtVerify(token, this.key, verifyOptions)).payload
        : (await jose.jwtVerify(token, this.key, verifyOptions)).payload;
    } catch (error) {
      throw new AppError("UNAUTHORIZED", `The account token is not valid: ${describe(error)}`);
    }
    const claims = Claims.safeParse(payload);
    if (!claims.success) {
      const fields = claims.error.issues.map((issue) => issue.path.join(".")).join(", ");
      throw new AppError("UNAUTHORIZED", `The account token's claims are malformed: ${fields}`);
    }
    const { sub, exp, iat, tier, tier_expires_at, team_id, team_role } = claims.data;
    // Bounded by what the issuer granted, not by what is left: an over-long token stays
    // refused for all of its life, not only until it has aged into the bound.
    if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new AppError(
        "UNAUTHORIZED",
        "The account token lives longer than this service accepts",
      );
    }
    return {
      account: {
        userId: sub,
        tier,
        tierExpiresAt: tier_expires_at ? tier_expires_at * 1000 : null,
        teamId: team_id ?? null,
        teamRole: team_role,
      },
      issuedAt: Math.floor(iat),
    };
  }
}

/**
 * Mints an HS256 account token, for self-hosters (`deno task mint-token`) and tests.
 * `issuedAt` (unix seconds) defaults to now; the token expires `expiresInSeconds` after it.
 * @example await mintAccountToken("x".repeat(32), { userId: "alice", tier: "pro", expiresInSeconds: 3600 })
 */
export async function mintAccountToken(
  secret: string,
  claims: {
    userId: string;
    tier: Account["tier"];
    expiresInSeconds: number;
    issuedAt?: number;
    tierExpiresAt?: number;
    teamId?: string;
    teamRole?: Account["teamRole"];
    issuer?: string;
    audience?: string;
  },
): Promise<string> {
  const issuedAt = claims.issuedAt ?? Math.floor(Date.now() / 1000);
  const jwt = new jose.SignJWT({
    tier: claims.tier,
    ...(claims.tierExpiresAt && { tier_expires_at: claims.tierExpiresAt }),
    ...(claims.teamId && { team_id: claims.teamId }),
    ...(claims.teamRole && { team_role: claims.teamRole }),
  })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(claims.userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + claims.expiresInSeconds);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return await jwt.sign(new TextEncoder().encode(secret));
}

function describe(error: unknown): string {
  if (error instanceof jose.errors.JWTExpired) return "it has expired";
  if (error instanceof jose.errors.JWTClaimValidationFailed) {
    return `claim ${error.claim} ${error.reason}`;
  }
  if (error instanceof jose.errors.JOSEAlgNotAllowed) return "its algorithm is not accepted";
  if (error instanceof jose.errors.JWSSignatureVerificationFailed) {
    return "its signature does not verify";
  }
  return "it is malformed";
}
