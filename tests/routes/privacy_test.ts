import assert from "node:assert/strict";
import { openTestApp, type TestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { change, command, SSH_KEY } from "../support/changes.ts";
import { COLLECTIONS, SPECS } from "../../sync/collections.ts";
import { capturedLogs } from "../support/spies.ts";
import { armourless, KEY_FIXTURES, PUBLIC_FIXTURES, readFixture } from "../support/key_fixtures.ts";

async function push(t: TestApp, token: string, changes: unknown[]) {
  const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return { body: JSON.parse(text), text };
}

async function pulledText(t: TestApp, token: string): Promise<string> {
  const res = await t.request("GET", "/api/sync/data?limit=1000", { token });
  assert.equal(res.status, 200);
  return await res.text();
}

function statuses(body: { results: { status: string; error?: { code: string } }[] }) {
  return body.results.map((r) => r.error?.code ?? r.status);
}

const PROFILE = { name: "prod", host: "prod.example.com", username: "deploy" };

/** Where key material can hide in the data of each collection that holds keys. */
function placements(collection: string, key: string): Record<string, unknown>[] {
  const base = collection === "ssh_keys" ? { ...SSH_KEY } : { ...PROFILE };
  const text = collection === "ssh_keys" ? "comment" : "notes";
  return [
    { ...base, [text]: key },
    { ...base, [text]: key.replaceAll("\n", "\r\n") },
    { ...base, [text]: key.split("\n").map((line) => `\t  ${line}  `).join("\n") },
    { ...base, [key]: "as an object key" },
    { ...base, extra: { deep: [[{ nested: [key] }]] } },
    { ...base, extra: { [`\u200b${key}`]: true } },
  ];
}

withDrivers("privacy", (_open, kind) => {
  Deno.test({
    name:
      "private key material in every form, in any value or object key at any depth, is rejected in every collection that holds keys; never stored, echoed or logged",
    fn: async () => {
      const { logger, lines } = capturedLogs();
      await using t = await openTestApp(kind, { logger });
      const d = await t.device("alice");
      const keyCollections = COLLECTIONS.filter((c) => SPECS[c].holdsKeys);
      assert.ok(keyCollections.includes("ssh_profiles") && keyCollections.includes("ssh_keys"));
      const keys = KEY_FIXTURES.map(readFixture);
      const variants = keys.flatMap((key) => [key, ...armourless(key)]);
      let text = "";
      for (const collection of keyCollections) {
        const changes = variants.flatMap((key) =>
          placements(collection, key).map((data) => change(collection, crypto.randomUUID(), data))
        );
        const pushed = await push(t, d.token, changes);
        text += pushed.text;
        assert.equal(pushed.body.results.length, changes.length);
        for (const [i, result] of pushed.body.results.entries()) {
          assert.deepEqual(
            [result.status, result.error?.code],
            ["rejected", "VALIDATION_FAILED"],
            `${collection} change ${i} was ${result.status}: ${
              JSON.stringify(changes[i].data).slice(0, 80)
            }`,
          );
        }
      }
      // No line of any key body shows in the answer, the logs or the database.
      const bodyLines = keys.flatMap((key) =>
        key.split("\n").filter((line) => /^[A-Za-z0-9+/]{40,}/.test(line))
      );
      assert.ok(bodyLines.length > 20);
      const logs = lines.join("\n");
      const stored = JSON.stringify(
        await t.db.driver.query("select data from items union all select data from item_versions"),
      );
      for (const line of bodyLines) {
        const piece = line.slice(0, 40);
        assert.ok(!text.includes(piece), `answer echoes key material: ${piece}`);
        assert.ok(!logs.includes(piece), `logs hold key material: ${piece}`);
        assert.ok(!stored.includes(piece), `database holds key material: ${piece}`);
      }
      assert.ok(!text.includes("PRIVATE KEY") && !text.includes("PuTTY-User-Key-File"));
      assert.equal(JSON.parse(await pulledText(t, d.token)).changes.length, 0);
    },
  });

  Deno.test({
    name: "public keys, fingerprints, certificates and prose about private keys are stored",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const publicKey = readFixture("openssh_ed25519.pub.txt").trim();
      const notes = [
        ...PUBLIC_FIXTURES.map(readFixture),
        "Rotate the private key every 90 days; the private key lives in the YubiKey.",
        "Use BEGIN OPENSSH PRIVATE KEY files only on the bastion.",
      ];
      const { body } = await push(t, d.token, [
        change("ssh_keys", "k1", { ...SSH_KEY, public_key: publicKey }),
        ...notes.map((note) =>
          change("ssh_profiles", crypto.randomUUID(), { ...PROFILE, notes: note })
        ),
        change("ssh_profiles", "p-options", {
          ...PROFILE,
          options: { IdentityFile: "~/.ssh/id_ed25519", "private-key-path": "~/.ssh/id_rsa" },
        }),
      ]);
      assert.deepEqual(statuses(body), Array(notes.length + 2).fill("applied"));
    },
  });

  Deno.test({
    name:
      "a secret in any text field of a command (cwd, host, shell, unknown fields and their keys) gets it filtered and never stored",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const token = "ghp_" + "Zq8xR2mK7vN4pL9wT3yB6cF1hJ5dS0aE8gU2";
      const leaks = [
        { cwd: "/mnt/webdav/https://alice:hunter2x@files.example.com/share" },
        { cwd: `/tmp/build-${token}` },
        { host: `deploy:S3cretPassw0rd@db.example.com` },
        { host: token },
        { shell: "env PGPASSWORD=Tr0ub4dor3 bash" },
        { note: `AKIAIOSFODNN7EXAMPLA` },
        { meta: { env: [["GITHUB_TOKEN=" + token]] } },
        { [`label ${token}`]: "x" },
      ];
      const secretChanges = leaks.map((extra) =>
        command("make deploy", {
          data: {
            command: "make deploy",
            session_id: crypto.randomUUID(),
            started_at: 1,
            ...extra,
          },
        })
      );
      const clean = command("make deploy", {
        data: {
          command: "make deploy",
          session_id: "s-clean",
          started_at: 1,
          cwd: "/home/alice/projects/api",
          host: "alice-laptop.local",
          shell: "/bin/zsh",
          note: "token rotation is due",
          meta: { env: [["GITHUB_TOKEN"]] },
        },
      });
      const { body } = await push(t, d.token, [...secretChanges, clean]);
      assert.deepEqual(statuses(body), [...Array(leaks.length).fill("filtered"), "applied"]);
      const pulled = await pulledText(t, d.token);
      for (
        const secret of [token, "hunter2x", "S3cretPassw0rd", "Tr0ub4dor3", "AKIAIOSFODNN7EXAMPLA"]
      ) {
        assert.ok(!pulled.includes(secret), `stored: ${secret}`);
      }
      assert.equal(JSON.parse(pulled).changes.length, 1);
    },
  });

  Deno.test({
    name:
      "commands carrying secrets in tool flags, connection strings and env prefixes are filtered; commands that only name a secret are stored",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const carrying = [
        "aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
        "mysqldump -uroot -pS3cr3tPass shop > shop.sql",
        "redis-cli -h cache.internal -a Vq9xL2mT7kP4 ping",
        "docker login -u bot -p dckrPassw0rd9 registry.example.com",
        "az storage blob list --connection-string 'DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4==;EndpointSuffix=core.windows.net'",
        "mongosh 'mongodb+srv://admin:Pa55w0rdX@cluster0.ab1cd.mongodb.net/test'",
        "curl -u admin:Hunter2024 https://jenkins.internal/api/json",
        "kubectl create secret generic db --from-literal=password=xK2p9LmQ4z",
        "echo ghp_Zq8xR2mK7vN4pL9wT3yB6cF1hJ5dS0aE8gU2 | gh auth login --with-token",
        "openssl enc -aes-256-cbc -in a -out a.enc -pass pass:Sup3rS3cret",
      ];
      const naming = [
        "echo $AWS_SECRET_ACCESS_KEY | wc -c",
        "kubectl get secrets",
        "grep -r password src/",
        "mysql -p mydb",
        "ssh -p 2222 deploy@bastion.example.com",
        "docker run -p 8080:80 -u 1000:1000 nginx",
        'curl -H "Authorization: Bearer $TOKEN" https://api.example.com/v1/me',
        "git commit -m 'rotate AWS_SECRET_ACCESS_KEY and update the runbook'",
      ];
      const { body } = await push(t, d.token, [...carrying, ...naming].map((c) => command(c)));
      assert.deepEqual(statuses(body), [
        ...Array(carrying.length).fill("filtered"),
        ...Array(naming.length).fill("applied"),
      ]);
    },
  });

  Deno.test({
    name:
      "user patterns run in a linear-time engine: (a+)+$ answers, (?i) works, and a pattern RE2 cannot run is refused when the settings are written",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const settings = {
        secret_patterns: ["(a+)+$", String.raw`(?i)\bacme_[a-z0-9]{8}\b`],
        history_rules: [{
          match: { pattern: String.raw`^vault\s+kv\s+get\b` },
          action: "local_only",
        }],
      };
      const written = await push(t, d.token, [change("settings", "sync", settings)]);
      assert.deepEqual(statuses(written.body), ["applied"]);

      const catastrophic = "a".repeat(28) + "!";
      const { body } = await push(t, d.token, [
        command(catastrophic),
        command("echo aaaa"),
        command("export DEPLOY=ACME_1a2b3c4d"),
        command("vault kv get secret/app"),
        command("vault status"),
      ]);
      assert.deepEqual(statuses(body), ["applied", "filtered", "filtered", "filtered", "applied"]);

      const refused = await push(t, d.token, [
        change("settings", "sync", { secret_patterns: [String.raw`password(?=\s)`] }, {
          base_version: 1,
        }),
        change("settings", "sync", {
          history_rules: [{ match: { pattern: String.raw`(\w+)\s\1` }, action: "local_only" }],
        }, { base_version: 1 }),
        change("settings", "sync", { secret_patterns: [String.raw`[\s\S]{1000}`] }, {
          base_version: 1,
        }),
      ]);
      assert.deepEqual(statuses(refused.body), Array(3).fill("VALIDATION_FAILED"));
      const fields = refused.body.results.map((
        r: { error: { details: { fields: Record<string, string> } } },
      ) => r.error.details.fields);
      assert.match(fields[0]["data.secret_patterns.0"], /linear-time engine/);
      assert.match(fields[1]["data.history_rules.0.match.pattern"], /linear-time engine/);
      assert.match(fields[2]["data.secret_patterns.0"], /Too complex/);
      // The settings written before still apply.
      const after = await push(t, d.token, [command("echo aaaaa")]);
      assert.deepEqual(statuses(after.body), ["filtered"]);
    },
  });
});
