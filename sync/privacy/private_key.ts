import { someText } from "./some_text.ts";

/**
 * Private key material in the forms DESIGN.md §5 lists: PEM (plain, legacy encrypted with
 * `Proc-Type: 4,ENCRYPTED`, PKCS#8 encrypted), OpenSSH, PuTTY (.ppk v2/v3), SSH2 / RFC 4716,
 * and armour-less bodies (the base64 of an OpenSSH, SSH2 or DER private key, or of a whole
 * armoured file). Public keys, fingerprints and prose about keys are not key material.
 * @module
 */

// Every pattern is linear on V8: literal anchors, bounded or single unambiguous loops.
const ARMOUR = new RegExp(
  [
    // PEM and SSH2 armour: "-----BEGIN RSA PRIVATE KEY-----", "---- BEGIN SSH2 ENCRYPTED
    // PRIVATE KEY ----", "-----BEGIN PGP PRIVATE KEY BLOCK-----", any spacing or case.
    String.raw`-{3}\s*BEGIN\s+(?:[A-Z0-9]+\s+){0,4}PRIVATE\s+KEY`,
    // Legacy encrypted PEM headers, which survive when the BEGIN line is cut off.
    String.raw`Proc-Type:\s*4\s*,\s*ENCRYPTED`,
    String.raw`DEK-Info:\s*[A-Z0-9-]+\s*,\s*[0-9A-F]{16}`,
    // PuTTY .ppk files.
    String.raw`PuTTY-User-Key-File-\d+\s*:`,
    String.raw`Private-(?:Lines|MAC)\s*:`,
  ].join("|"),
  "i",
);
// "openssh-key-v1\0" in base64: the start of every OpenSSH private key body.
const OPENSSH_BODY = "b3BlbnNzaC1rZXktdjE";
const BASE64_RUN = /[A-Za-z0-9+/]{16,}/g;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;
const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]/g;
const HAS_ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]/;
// Decoding this many characters (48 bytes) shows every signature below.
const SIGNATURE_CHARS = 64;

/** True when any string or object key anywhere in `value` holds private key material. */
export function containsPrivateKey(value: unknown): boolean {
  return someText(value, holdsPrivateKey);
}

/** True when `text` holds private key material in any of the forms above. */
export function holdsPrivateKey(text: string): boolean {
  const plain = HAS_ZERO_WIDTH.test(text) ? text.replace(ZERO_WIDTH, "") : text;
  return ARMOUR.test(plain) || plain.includes(OPENSSH_BODY) ||
    (plain.length >= SIGNATURE_CHARS && holdsKeyBody(plain));
}

/** An armour-less body: some base64 run (lines may be wrapped) decodes to a key. */
function holdsKeyBody(text: string): boolean {
  BASE64_RUN.lastIndex = 0;
  for (let run = BASE64_RUN.exec(text); run; run = BASE64_RUN.exec(text)) {
    // A short run ending in anything but a line break or space cannot reach a signature.
    const after = text[BASE64_RUN.lastIndex];
    if (run[0].length < SIGNATURE_CHARS && !/[\s=]/.test(after ?? "")) continue;
    const head = base64Head(text, run.index);
    if (head.length >= SIGNATURE_CHARS && isKeySignature(decode(head))) return true;
  }
  return false;
}

/** Up to SIGNATURE_CHARS base64 characters from `start`, across line breaks and spaces. */
function base64Head(text: string, start: number): string {
  let head = "";
  for (let i = start; i < text.length && head.length < SIGNATURE_CHARS; i++) {
    const c = text[i];
    if (BASE64_CHAR.test(c)) head += c;
    else if (c !== " " && c !== "\t" && c !== "\r" && c !== "\n") break;
  }
  return head.replace(/=+$/, "");
}

function decode(base64: string): Uint8Array {
  const usable = base64.slice(0, base64.length - (base64.length % 4));
  try {
    return Uint8Array.from(atob(usable), (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array();
  }
}

function isKeySignature(bytes: Uint8Array): boolean {
  // The base64 of an armoured file: its first line is in the decoded prefix.
  const latin1 = String.fromCharCode(...bytes);
  if (ARMOUR.test(latin1) || latin1.startsWith("openssh-key-v1\0")) return true;
  // SSH2 (RFC 4716) private key body: magic 0x3f6ff9eb.
  if (bytes[0] === 0x3f && bytes[1] === 0x6f && bytes[2] === 0xf9 && bytes[3] === 0xeb) {
    return true;
  }
  return isDerPrivateKey(bytes);
}

/**
 * DER private keys open with SEQUENCE { INTEGER version, … }: PKCS#1 RSA and DSA (0),
 * PKCS#8 (0 or 1), SEC1 EC (1), PKCS#12 (3). Certificates, CSRs and public keys open with
 * a nested SEQUENCE instead. Encrypted PKCS#8 opens with SEQUENCE { SEQUENCE { OID } }
 * where the OID is PBES2 or a PKCS#12 PBE scheme.
 */
function isDerPrivateKey(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x30) return false;
  const lengthBytes = bytes[1] < 0x80 ? 0 : bytes[1] - 0x80;
  if (lengthBytes > 3) return false;
  const body = 2 + lengthBytes;
  const [tag, length, version, next] = bytes.subarray(body, body + 4);
  if (tag === 0x02 && length === 1 && [0, 1, 3].includes(version)) {
    return next === 0x02 || next === 0x30 || next === 0x04;
  }
  return tag === 0x30 && (hasBytes(bytes, PBES2_OID) || hasBytes(bytes, PKCS12_PBE_OID));
}

// 1.2.840.113549.1.5.13 and the prefix of 1.2.840.113549.1.12.1.x, with their DER headers.
const PBES2_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
const PKCS12_PBE_OID = [0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];

function hasBytes(haystack: Uint8Array, needle: readonly number[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
