import assert from "node:assert/strict";
import * as jose from "jose";
import { AccountTokenVerifier, mintAccountToken } from "../../sync/account_tokens.ts";
import { AppError } from "../../sync/errors.ts";

const SECRET = "s".repeat(40);
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

async function rejects(verifier: AccountTokenVerifier, token: string, reason: RegExp) {
  await assert.rejects(verifier.verify(token), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, "UNAUTHORIZED");
    assert.match(error.message, reason);
    return true;
  });
}

Deno.test("AccountTokenVerifier accepts a minted token and reads tier, expiry and team", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  const tierEnd = now() + 86400;
  const token = await mintAccountToken(SECRET, {
    userId: "alice",
    tier: "team",
    expiresInSeconds: 600,
    tierExpiresAt: tierEnd,
    teamId: "t1",
  });
  assert.deepEqual(await verifier.verify(token), {
    userId: "alice",
    tier: "team",
    tierExpiresAt: tierEnd * 1000,
    teamId: "t1",
  });
});

Deno.test("AccountTokenVerifier refuses expired, unsigned, missing-exp, over-long and foreign tokens", async () => {
  const verifier = await AccountTokenVerifier.create({ secret: SECRET, algorithm: "RS256" });
  const sign = (claims: jose.JWTPayload, alg = "HS256") =>
    new jose.SignJWT(claims).setProtectedHeader({ alg }).sign(key);
  await rejects(verifier, await sign({ sub: "a", exp: now() - 120 }), /expired/);
  await rejects(verifier, await sign({ sub: "a" }), /exp/);
  await rejects(verifier, await sign({ sub: "a", exp: now() + 5 * 365 * 86400 }), /longer/);
  await rejects(verifier, await sign({ sub: "a", exp: now() + 60 }, "HS512"), /algorithm/);
  await rejects(verifier, await sign({ sub: "a", exp: now() + 60, tier: "platinum" }), /claims/);
  const other = await new jose.SignJWT({ sub: "a", exp: now() + 60 }).setProtectedHeader({
    alg: "HS256",
  })
    .sign(new TextEncoder().encode("o".repeat(40)));
  await rejects(verifier, other, /signature/);
  const unsigned = `${btoa(JSON.stringify({ alg: "none" }))}.${
    btoa(JSON.stringify({ sub: "a", exp: now() + 60 }))
  }.`;
  await rejects(verifier, unsigned, /algorithm|malformed/);
  await rejects(verifier, "not-a-jwt", /malformed/);
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
  assert.equal((await verifier.verify(good)).userId, "a");
  const wrongAud = await mintAccountToken(SECRET, {
    userId: "a",
    tier: "pro",
    expiresInSeconds: 60,
    issuer: "https://auth.example",
    audience: "else",
  });
  await rejects(verifier, wrongAud, /aud/);
  const justExpired = await new jose.SignJWT({
    sub: "a",
    exp: now() - 10,
    iss: "https://auth.example",
    aud: "devpocket",
  })
    .setProtectedHeader({ alg: "HS256" }).sign(key);
  assert.equal((await verifier.verify(justExpired)).userId, "a");
});

Deno.test("AccountTokenVerifier verifies by public key with the pinned algorithm only", async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const verifier = await AccountTokenVerifier.create({
    publicKey: await jose.exportSPKI(publicKey),
    algorithm: "ES256",
  });
  const token = await new jose.SignJWT({ sub: "k", exp: now() + 60, tier: "pro" })
    .setProtectedHeader({ alg: "ES256" })
    .sign(privateKey);
  assert.equal((await verifier.verify(token)).tier, "pro");
  // An HS256 token must not verify just because its secret happens to be the public key text.
  const confused = await new jose.SignJWT({ sub: "k", exp: now() + 60 }).setProtectedHeader({
    alg: "HS256",
  })
    .sign(new TextEncoder().encode(await jose.exportSPKI(publicKey)));
  await rejects(verifier, confused, /algorithm/);
});
