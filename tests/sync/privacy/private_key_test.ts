import assert from "node:assert/strict";
import { containsPrivateKey, holdsPrivateKey } from "../../../sync/privacy/private_key.ts";
import {
  armourless,
  KEY_FIXTURES,
  PUBLIC_FIXTURES,
  readFixture,
} from "../../support/key_fixtures.ts";

Deno.test("holdsPrivateKey() finds every key form, as generated and as devices mangle it", () => {
  for (const name of KEY_FIXTURES) {
    const key = readFixture(name);
    const shapes: [string, string][] = [
      ["as generated", key],
      ["CRLF", key.replaceAll("\n", "\r\n")],
      ["indented, trailing spaces", key.split("\n").map((l) => `\t  ${l}   `).join("\n")],
      ["in prose", `my key, please keep it safe:\n${key}\nthanks`],
      [
        "zero-width spaces",
        key.replace("PRIVATE", "PRI\u200bVATE").replace("PuTTY", "Pu\u200bTTY"),
      ],
      [
        "lower case armour",
        key.toLowerCase().includes("begin") ? key.replace(/BEGIN/, "begin") : key,
      ],
      ...armourless(key).map((variant, i): [string, string] => [`variant ${i}`, variant]),
    ];
    for (const [shape, text] of shapes) {
      assert.equal(holdsPrivateKey(text), true, `${name} ${shape}`);
    }
  }
});

Deno.test("holdsPrivateKey() finds the armour and headers alone, the forms DESIGN §5 names", () => {
  for (
    const text of [
      "-----BEGIN RSA PRIVATE KEY-----",
      "-----BEGIN PRIVATE KEY-----",
      "-----BEGIN ENCRYPTED PRIVATE KEY-----",
      "-----BEGIN EC PRIVATE KEY-----",
      "-----BEGIN DSA PRIVATE KEY-----",
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      "-----BEGIN PGP PRIVATE KEY BLOCK-----",
      "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----",
      "---- BEGIN SSH2 PRIVATE KEY ----",
      "-----BEGIN  RSA\tPRIVATE   KEY-----",
      "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF",
      "PuTTY-User-Key-File-2: ssh-rsa",
      "PuTTY-User-Key-File-3: ssh-ed25519",
      "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    ]
  ) assert.equal(holdsPrivateKey(text), true, text);
});

Deno.test("holdsPrivateKey() leaves public keys, certificates, fingerprints and prose alone", () => {
  const texts = [
    ...PUBLIC_FIXTURES.map(readFixture),
    "Rotate the private key every 90 days.",
    "BEGIN RSA PRIVATE KEY files belong on the bastion only",
    "-----BEGIN PUBLIC KEY-----",
    "SHA256:GK9VqYO4hzg/57hK5v87F7ZoGR8hrQZh11ksLoTAlbs",
    "IdentityFile ~/.ssh/id_ed25519",
    "A".repeat(200),
    "/home/alice/projects/api/src/components/very/deeply/nested/folder/file.ts",
  ];
  for (const text of texts) assert.equal(holdsPrivateKey(text), false, text.slice(0, 60));
});

Deno.test("containsPrivateKey() looks at object keys and values at any depth, iteratively", () => {
  const key = readFixture("openssh_ed25519.key");
  assert.equal(containsPrivateKey({ notes: "hi", options: { [key]: "x" } }), true);
  assert.equal(containsPrivateKey({ tags: ["a", ["b", [key]]] }), true);
  let deep: unknown = { leaf: key };
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(containsPrivateKey(deep), true);
  assert.equal(
    containsPrivateKey({ name: "prod", port: 22, tags: ["x"], ok: true, n: null }),
    false,
  );
});

Deno.test("holdsPrivateKey() answers hostile 64 KiB inputs correctly (linear patterns, no rescans)", () => {
  for (const unit of ["-", "---- BEGIN ", "QUJD", "AAAA\n", "Proc-Type: 4,", "b3Bl"]) {
    assert.equal(holdsPrivateKey(unit.repeat(65_536 / unit.length)), false, unit);
  }
});
