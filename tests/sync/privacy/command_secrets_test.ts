import assert from "node:assert/strict";
import { holdsBuiltinSecret } from "../../../sync/privacy/command_secrets.ts";

interface Row {
  label: "secret" | "clean";
  command: string;
}

function assertVerdicts(cases: readonly [string, boolean][]): void {
  for (const [command, expected] of cases) {
    assert.equal(holdsBuiltinSecret(command), expected, command);
  }
}

async function corpus(): Promise<Row[]> {
  const text = await Deno.readTextFile(
    new URL("../../fixtures/command_corpus.tsv", import.meta.url),
  );
  return text.trim().split("\n").slice(1).map((line) => {
    const tab = line.indexOf("\t");
    return { label: line.slice(0, tab) as Row["label"], command: line.slice(tab + 1) };
  });
}

Deno.test("holdsBuiltinSecret() on the command corpus: precision >= 0.99, recall >= 0.98", async () => {
  const rows = await corpus();
  assert.ok(rows.length >= 300);
  assert.ok(rows.every((r) => r.label === "secret" || r.label === "clean"));
  const missed: string[] = [];
  const wronglyFiltered: string[] = [];
  let truePositives = 0;
  for (const row of rows) {
    const found = holdsBuiltinSecret(row.command);
    if (found && row.label === "secret") truePositives++;
    else if (found) wronglyFiltered.push(row.command);
    else if (row.label === "secret") missed.push(row.command);
  }
  const precision = truePositives / (truePositives + wronglyFiltered.length);
  const recall = truePositives / (truePositives + missed.length);
  const secrets = rows.filter((r) => r.label === "secret").length;
  console.log(
    `command corpus: ${rows.length} commands (${secrets} with a secret): ` +
      `precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}`,
  );
  assert.ok(precision >= 0.99, `precision ${precision}; filtered: ${wronglyFiltered.join("\n")}`);
  assert.ok(recall >= 0.98, `recall ${recall}; missed: ${missed.join("\n")}`);
});

Deno.test("holdsBuiltinSecret() reads a flag by the tool it belongs to", () => {
  const cases: [string, boolean][] = [
    ["ssh -p 2222 deploy@bastion", false],
    ["mysql -p mydb", false],
    ["mysql --password mydb", false],
    ["mysql -uroot -pHunter22 mydb", true],
    ["mysql --password=Hunter22 mydb", true],
    ["docker login -p Hunter22 registry.example.com", true],
    ["docker run -p 8080:80 nginx", false],
    ["sshpass -p Hunter22 ssh host", true],
    ["sshpass -pHunter22 ssh host", true],
    ["redis-cli -a Hunter22 ping", true],
    ["redis-cli -h cache -p 6380 ping", false],
    ["zip -P Hunter22 a.zip f", true],
    ["zip -r a.zip dir/", false],
    ["openssl enc -in a -out b -pass pass:Hunter22", true],
    ["openssl enc -in a -out b -pass env:ENC_PASS", false],
    ["htpasswd -b .htpasswd alice Hunter22", true],
    ["htpasswd -c .htpasswd alice", false],
    ["curl -u alice:Hunter22 https://x.example.com", true],
    ["curl -u alice https://x.example.com", false],
    ["psql -U app -p 5433 app", false],
    ["cqlsh -u cassandra -p Hunter22 10.0.0.3", true],
    ["ssh-keygen -t ed25519 -N '' -f key", false],
    ["ssh-keygen -t ed25519 -N 'Hunter22' -f key", true],
  ];
  assertVerdicts(cases);
});

Deno.test("holdsBuiltinSecret() tells a secret from a reference to one", () => {
  const cases: [string, boolean][] = [
    ["export GITHUB_TOKEN=Zq8xR2mK7vN4pL9w", true],
    ["export GITHUB_TOKEN=$(gh auth token)", false],
    ['export GITHUB_TOKEN="${TOKEN}"', false],
    ["export GOOGLE_APPLICATION_CREDENTIALS=/home/a/key.json", false],
    ["export TOKEN_TTL=3600", false],
    ["export POSTGRES_PASSWORD_FILE=/run/secrets/pg", false],
    ["docker build --secret id=npm,src=$HOME/.npmrc .", false],
    ["kubectl create secret generic a --from-literal=password=$DB_PASSWORD", false],
    ["kubectl create secret generic a --from-literal=password=xK2p9LmQ4z", true],
    ["echo $AWS_SECRET_ACCESS_KEY | wc -c", false],
    ["echo 'Hunter22x' | docker login -u bot --password-stdin", true],
    ['echo "$PASS" | docker login -u bot --password-stdin', false],
    ["curl https://alice:Hunter22@example.com", true],
    ["curl https://${USER}:${PASS}@example.com", false],
    ["sed -i 's/password=.*/password=REDACTED/' app.conf", false],
    ["mysql -e \"CREATE USER 'a'@'%' IDENTIFIED BY 'Hunter22'\"", true],
    ["mysql -e \"ALTER USER 'a'@'%' IDENTIFIED BY '$NEWPASS'\"", false],
    ["git commit -m 'remember to set GITHUB_TOKEN before running'", false],
  ];
  assertVerdicts(cases);
});

Deno.test("holdsBuiltinSecret() answers hostile 64 KiB commands correctly (linear patterns, no rescans)", () => {
  const fill = (unit: string) => unit.repeat(Math.ceil(65_536 / unit.length)).slice(0, 65_536);
  const units: [string, boolean][] = [
    ["deploy --force api-7 ", false],
    ["a", false],
    ["-eyJ", false],
    ["ghp_sk-xoxb-AKIA", false],
    ["password=", true], // password=password: the literal password "password"
    ["a:b@", false], // a one-letter password is not taken for one
    ["x://", false],
    ["'$(\"`", false],
    ["identified with ", false],
    ["=a:bbbbbbbbbb", false],
    ["password ", false],
  ];
  assertVerdicts(units.map(([unit, expected]) => [fill(unit), expected]));
});
