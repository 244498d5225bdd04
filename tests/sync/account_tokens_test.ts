import assert from "node:assert/strict";
import * as jose from "jose";
import {
  AccountTokenVerifier,
  MAX_TOKEN_LIFETIME_SECONDS,
  mintAccountToken,
} from "../../sync/account_tokens.ts";
import { AppError } from "../../sync/errors.ts";

const SECRET = "s".repeat(40);
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: jose.JWTPayload, alg = "HS256") =>
  new jose.SignJWT(claims).setProtectedHeader({ alg }).sign(key);

async function rejects(verifier: AccountTokenVerifier, token: string, reason: RegExp) {
  await assert.rejects(verifier.verify(token), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, "UNAUTHORIZED");
    assert.match(error.message, reason);
    return true;
  });
}

Deno.test("AccountTokenVerifier accepts a minted token and reads tier, expiry, team, role and iat", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  const tierEnd = now() + 86400;
  const issuedAt = now() - 100;
  const token = await mintAccountToken(SECRET, {
    userId: "alice",
    tier: "team",
    expiresInSeconds: 600,
    issuedAt,
    tierExpiresAt: tierEnd,
    teamId: "t1",
    teamRole: "admin",
  });
  assert.deepEqual(await verifier.verify(token), {
    account: {
      userId: "alice",
      tier: "team",
      tierExpiresAt: tierEnd * 1000,
      teamId: "t1",
      teamRole: "admin",
    },
    issuedAt,
  });
});

Deno.test("AccountTokenVerifier defaults team_role to member and refuses an unknown role", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  const claims = { sub: "a", iat: now(), exp: now() + 60, team_id: "t1" };
  assert.equal((await verifier.verify(await sign(claims))).account.teamRole, "member");
  await rejects(verifier, await sign({ ...claims, team_role: "owner" }), /claims/);
});

Deno.test("AccountTokenVerifier refuses expired, unsigned, missing-exp, missing-iat and foreign tokens", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  await rejects(verifier, await sign({ sub: "a", iat: now() - 600, exp: now() - 120 }), /expired/);
  await rejects(verifier, await sign({ sub: "a", iat: now() }), /exp/);
  await rejects(verifier, await sign({ sub: "a", exp: now() + 60 }), /claim iat missing/);
  await rejects(
    verifier,
    await sign({ sub: "a", iat: now(), exp: now() + 60 }, "HS512"),
    /algorithm/,
  );
  await rejects(
    verifier,
    await sign({ sub: "a", iat: now(), exp: now() + 60, tier: "platinum" }),
    /claims/,
  );
  const other = await new jose.SignJWT({ sub: "a", iat: now(), exp: now() + 60 })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode("o".repeat(40)));
  await rejects(verifier, other, /signature/);
  const unsigned = `${btoa(JSON.stringify({ alg: "none" }))}.${
    btoa(JSON.stringify({ sub: "a", iat: now(), exp: now() + 60 }))
  }.`;
  await rejects(verifier, unsigned, /algorithm|malformed/);
  await rejects(verifier, "not-a-jwt", /malformed/);
});

Deno.test("AccountTokenVerifier refuses a tier_expires_at past year 9999 (milliseconds sent as seconds)", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  const claims = { sub: "alice", iat: now(), exp: now() + 600, tier: "pro" };
  const inMs = await sign({ ...claims, tier_expires_at: Date.now() + 86_400_000 });
  await rejects(verifier, inMs, /claims are malformed/);
  const lastDay = await sign({ ...claims, tier_expires_at: 253_402_300_799 });
  assert.equal((await verifier.verify(lastDay)).account.tierExpiresAt, 253_402_300_799_000);
});

Deno.test("AccountTokenVerifier refuses a sub or team_id holding NUL or a lone surrogate (text storage would change it)", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  const claims = { iat: now(), exp: now() + 600, tier: "pro" };
  for (const bad of ["a\u0000b", "a\ud800", "\udc00b"]) {
    await rejects(verifier, await sign({ ...claims, sub: bad }), /claims are malformed/);
    await rejects(
      verifier,
      await sign({ ...claims, sub: "ok", team_id: bad }),
      /claims are malformed/,
    );
  }
  assert.equal(
    (await verifier.verify(await sign({ ...claims, sub: "ü😀" }))).account.userId,
    "ü😀",
  );
});

Deno.test("AccountTokenVerifier bounds exp − iat at 400 days, not the time left until exp", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  const max = MAX_TOKEN_LIFETIME_SECONDS;
  assert.equal(max, 400 * 86400);
  const issued = now() - 10 * 86400;
  // 395 days left, but issued for 405: refused.
  await rejects(verifier, await sign({ sub: "a", iat: issued, exp: issued + max + 1 }), /longer/);
  await rejects(
    verifier,
    await sign({ sub: "a", iat: now(), exp: now() + 5 * 365 * 86400 }),
    /longer/,
  );
  const longest = await verifier.verify(await sign({ sub: "a", iat: issued, exp: issued + max }));
  assert.equal(longest.issuedAt, issued);
});

Deno.test("AccountTokenVerifier refuses an iat in the future beyond the 30 s clock tolerance", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  const at = 1_800_000_000;
  const clock = at * 1000;
  const token = (iat: number) => sign({ sub: "a", iat, exp: iat + 3600 });
  assert.equal((await verifier.verify(await token(at + 30), clock)).issuedAt, at + 30);
  await assert.rejects(verifier.verify(await token(at + 31), clock), (error: unknown) => {
    assert.ok(error instanceof AppError && error.code === "UNAUTHORIZED");
    assert.match(error.message, /claim iat/);
    return true;
  });
});

Deno.test("AccountTokenVerifier checks iss and aud when configured, within a small clock tolerance", async () => {
  const verifier = await AccountTokenVerifier.create({
    secret: SECRET,
    algorithm: "RS256",
    issuer: "https://auth.example",
    audience: "devpocket",
  });
  const good = await mintAccountToken(SECRET, {
    userId: "a",
    tier: "pro",
    expiresInSeconds: 60,
    issuer: "https://auth.example",
    audience: "devpocket",
  });
  assert.equal((await verifier.verify(good)).account.userId, "a");
  const wrongAud = await mintAccountToken(SECRET, {
    userId: "a",
    tier: "pro",
    expiresInSeconds: 60,
    issuer: "https://auth.example",
    audience: "else",
  });
  await rejects(verifier, wrongAud, /aud/);
  const justExpired = await sign({
    sub: "a",
    iat: now() - 600,
    exp: now() - 10,
    iss: "https://auth.example",
    aud: "devpocket",
  });
  assert.equal((await verifier.verify(justExpired)).account.userId, "a");
});

Deno.test("AccountTokenVerifier verifies by public key with the pinned algorithm only", async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const verifier = await AccountTokenVerifier.create({
    publicKey: await jose.exportSPKI(publicKey),
    algorithm: "ES256",
  });
  const token = await new jose.SignJWT({ sub: "k", iat: now(), exp: now() + 60, tier: "pro" })
    .setProtectedHeader({ alg: "ES256" })
    .sign(privateKey);
  assert.equal((await verifier.verify(token)).account.tier, "pro");
  // An HS256 token must not verify just because its secret happens to be the public key text.
  const confused = await new jose.SignJWT({ sub: "k", iat: now(), exp: now() + 60 })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(await jose.exportSPKI(publicKey)));
  await rejects(verifier, confused, /algorithm/);
});

// The verifier fetches whatever URL it is given; config.ts admits only https ones. A local
// plain-HTTP server stands in for the identity provider here.
Deno.test("AccountTokenVerifier verifies by a JWKS fetched from a local key server", async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair("EdDSA", { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: "k1", alg: "EdDSA", use: "sig" };
  const listening = Promise.withResolvers<string>();
  await using _server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ hostname, port }) => listening.resolve(`http://${hostname}:${port}/jwks.json`),
  }, () => Response.json({ keys: [jwk] }));
  const verifier = await AccountTokenVerifier.create({
    jwksUrl: await listening.promise,
    algorithm: "EdDSA",
  });
  const signWith = (signer: jose.CryptoKey, kid: string) =>
    new jose.SignJWT({ sub: "j", iat: now(), exp: now() + 60, tier: "enterprise" })
      .setProtectedHeader({ alg: "EdDSA", kid })
      .sign(signer);
  assert.equal(
    (await verifier.verify(await signWith(privateKey, "k1"))).account.tier,
    "enterprise",
  );
  const stranger = await jose.generateKeyPair("EdDSA");
  await rejects(verifier, await signWith(stranger.privateKey, "k1"), /signature/);
});
