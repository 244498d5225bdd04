import { encodeBase64Url } from "./base64url.ts";

/**
 * The embedded default's account-token secret: generated once into DATA_DIR (mode 0600)
 * so `deno task start` works on a bare machine and tokens survive restarts.
 */
export async function loadOrCreateDevSecret(dataDir: string): Promise<string> {
  const path = `${dataDir}/jwt_secret`;
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const secret = encodeBase64Url(crypto.getRandomValues(new Uint8Array(48)));
  await Deno.writeTextFile(path, secret, { mode: 0o600, createNew: true });
  return secret;
}
