/**
 * Real key files made with ssh-keygen, openssl and puttygen for these tests only
 * (tests/fixtures/keys/), and the ways a device may mangle them on the way in.
 */

/** Private keys: OpenSSH (plain and encrypted), PEM (PKCS#1, legacy encrypted, EC, DSA,
 * PKCS#8 plain and encrypted), PuTTY v2/v3 (plain and encrypted), SSH2 / RFC 4716. */
export const KEY_FIXTURES = [
  "openssh_ed25519.key",
  "openssh_ed25519_encrypted.key",
  "openssh_rsa.key",
  "openssh_ecdsa.key",
  "pem_rsa.key",
  "pem_rsa_encrypted.key",
  "pem_ec.key",
  "pem_dsa.key",
  "pkcs8_rsa.key",
  "pkcs8_ed25519.key",
  "pkcs8_encrypted.key",
  "putty_v2_rsa.ppk",
  "putty_v3_ed25519.ppk",
  "putty_v3_encrypted.ppk",
  "ssh2_rsa.key",
  "ssh2_rsa_encrypted.key",
] as const;

/** Public halves, a certificate and a fingerprint line: none of them is key material. */
export const PUBLIC_FIXTURES = [
  "openssh_ed25519.pub.txt",
  "openssh_rsa.pub.txt",
  "pem_rsa.pub.txt",
  "ssh2_rsa.pub.txt",
  "certificate.crt.txt",
  "fingerprint.txt",
] as const;

export function readFixture(name: string): string {
  return Deno.readTextFileSync(new URL(`../fixtures/keys/${name}`, import.meta.url));
}

/**
 * Other shapes of the same key: the SSH2 header without ENCRYPTED (both exist in the
 * wild), the whole file base64-encoded, and, where the body has a structure of its own
 * (OpenSSH, SSH2, unencrypted and PKCS#8-encrypted DER), the body alone without armour.
 */
export function armourless(key: string): string[] {
  const variants = [btoa(key)];
  if (key.includes("SSH2 ENCRYPTED PRIVATE KEY")) {
    variants.push(key.replaceAll("SSH2 ENCRYPTED PRIVATE KEY", "SSH2 PRIVATE KEY"));
  }
  const lines = key.split("\n");
  const encryptedPem = lines.some((line) => line.startsWith("Proc-Type:"));
  if (!encryptedPem && !key.startsWith("PuTTY")) {
    variants.push(
      lines.filter((line) => !/^-{4,5}|^\S+: |^\s*$|^ /.test(line)).join("\n"),
    );
  }
  return variants;
}
