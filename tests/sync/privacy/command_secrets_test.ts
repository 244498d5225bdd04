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

async function fixture(name: string): Promise<Row[]> {
  const text = await Deno.readTextFile(new URL(`../../fixtures/${name}`, import.meta.url));
  return text.trim().split("\n").slice(1).map((line) => {
    const tab = line.indexOf("\t");
    return { label: line.slice(0, tab) as Row["label"], command: line.slice(tab + 1) };
  });
}

/** Precision and recall of holdsBuiltinSecret() on a labelled fixture, at least these. */
async function assertScores(name: string, minPrecision: number, minRecall: number) {
  const rows = await fixture(name);
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
    `${name}: ${rows.length} commands (${secrets} with a secret): ` +
      `precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}`,
  );
  assert.ok(
    precision >= minPrecision,
    `precision ${precision}; filtered: ${wronglyFiltered.join("\n")}`,
  );
  assert.ok(recall >= minRecall, `recall ${recall}; missed: ${missed.join("\n")}`);
  return rows;
}

Deno.test("holdsBuiltinSecret() on the command corpus: precision >= 0.99, recall >= 0.98", async () => {
  const rows = await assertScores("command_corpus.tsv", 0.99, 0.98);
  assert.ok(rows.length >= 300);
});

// The corpus above was tuned on, so it says little about commands the rules have never
// seen. command_heldout.tsv (920 commands, 433 with a secret, none from the corpus) was
// written before the rules were read or tuned: on it they scored precision 0.975, recall
// 0.901. Its misses and false positives led to general rules (flags that read a password
// from stdin, -P/-pw beside a user, spaced `Name = value`, *_PAT, references such as
// `env.X`…), not to rules for its commands; what it still misses is left missed.
// command_heldout_2.tsv (313 commands, 125 with a secret, new tools) was written after that
// first round and measured before the second: precision 0.982, recall 0.888 (the rules
// before either round: 0.973, 0.864). Both sets now guard against losing what was gained.
Deno.test("holdsBuiltinSecret() on commands written before tuning: precision >= 0.99, recall >= 0.98", async () => {
  const rows = await assertScores("command_heldout.tsv", 0.99, 0.98);
  assert.ok(rows.length >= 900);
});

Deno.test("holdsBuiltinSecret() on commands written after the first round of tuning: precision >= 0.99, recall >= 0.97", async () => {
  const rows = await assertScores("command_heldout_2.tsv", 0.99, 0.97);
  assert.ok(rows.length >= 300);
});

// command_heldout_3.tsv (1000 commands, 418 with a secret) was written blind, before its
// writer read the rules or the other fixtures, after the second round of tuning. On the
// rules as they were it scored precision 0.988, recall 0.964 (fp 5, fn 15). Its misses were
// credentials given by position in code (`PDO(dsn, user, X)`, `auth=('u', X)`,
// `jwt.sign(p, X)`), password-like literals on stdin, an SQL INSERT into a secret column,
// three tools' password flags and two token formats; its false positives an ARN, a
// namespaced Redis key, an Idempotency-Key UUID, `env://` and `"user:$PW"` on stdin. It has
// been tuned on since, so it now only guards against losing what was gained.
Deno.test("holdsBuiltinSecret() on commands written blind after the second round: precision >= 0.99, recall >= 0.99", async () => {
  const rows = await assertScores("command_heldout_3.tsv", 0.99, 0.99);
  assert.ok(rows.length >= 1000);
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
    ["mongo -u admin -pHunter22x --authenticationDatabase admin", true],
    ["sqlcmd -S sql01 -U sa -PHunter22x", true],
    ["redis-cli --askpass -h cache <<< Hunter22x", true],
    ["redis-cli --askpass -h cache", false],
    ["http -A bearer -a Xk29dLq7mN4p https://api.example.com", true],
    ["http -A bearer -a $TOKEN https://api.example.com", false],
    ["composer config http-basic.repo.example.com ci Hunter22x", true],
    ["bundle config set --global gems.example.com ci:Hunter22x", true],
    ["bundle config set --local path vendor/bundle", false],
    ["reg add HKCU\\Software\\App /v Password /t REG_SZ /d Hunter22x", true],
    ["reg add HKCU\\Software\\App /v PasswordExpiry /t REG_DWORD /d 90", false],
    ["bin/console app:create-user admin Hunter22x", true],
    ["bin/console app:create-user admin", false],
    ["ssh-keygen -t ed25519 -N '' -f key", false],
    ["ssh-keygen -t ed25519 -N 'Hunter22' -f key", true],
  ];
  assertVerdicts(cases);
});

Deno.test("holdsBuiltinSecret() reads general shapes on tools it has no rule for", () => {
  const cases: [string, boolean][] = [
    // A flag that reads a password on stdin makes what is piped in one.
    ["echo 'Hunter22x' | openconnect vpn.example.com -u a --passwd-on-stdin", true],
    ["echo 'Hunter22x' | gpg --batch --passphrase-fd 0 -d a.gpg", true],
    ['echo "$PW" | gpg --batch --passphrase-fd 0 -d a.gpg', false],
    // -P and -w are passwords beside a user, if the value looks like one.
    ["ipmitool -I lanplus -H 10.0.0.9 -U ADMIN -P Xk29dLq7 power status", true],
    ["vsql -U dbadmin -w 'Hunter#22' -h vertica", true],
    ["docker run -u app -P nginx", false],
    ["curl -u alice -w '%{http_code}' https://x.example.com", false],
    ["conan remote login acme ci -p Xk29dLq7mN", true],
    ["plink -ssh admin@10.0.0.1 -pw Hunter22 'show run'", true],
    ["zip -rP Hunter22 a.zip dir/", true],
    // A pair spread over words (PowerShell, HCL, sc.exe).
    ['Invoke-RestMethod -Uri $u -Headers @{Authorization = "Bearer Xk29dLq7mN4p"}', true],
    ["$pw = ConvertTo-SecureString $env:PW -AsPlainText -Force", false],
    ["$pw = ConvertTo-SecureString 'Hunter22!' -AsPlainText -Force", true],
    ["sc.exe config svc obj= .\\svc password= Hunter22", true],
    ["GITHUB_TOKEN= gh auth status", false],
    // Names: *_PAT, *_AUTH; user:password under a vague name.
    ["setx AZURE_DEVOPS_EXT_PAT k2p9xq7m4n8b", true],
    ["REDISCLI_AUTH=Xk29dLq7mN4p redis-cli ping", true],
    ["jenkins-cli -auth admin:11e2b3c4d5e6f7a8b9 build x", true],
    ["tool --auth oauth:github", false],
    ["export WG_PUBLIC_KEY=xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", false],
    // References and placeholders are not secrets.
    ["jq '.password = env.DB_PASSWORD' config.json", false],
    ["keytool -list -keystore t.jks -storepass:env STOREPASS", false],
    ["export OPENAI_API_KEY=sk-...", false],
    ['curl -H "Authorization: Bearer YOUR_API_KEY" https://x.example.com', false],
    ['curl -H "Authorization: Bearer ${TOKEN:?unset}" https://x.example.com', false],
    ["grep -c 'Authorization: Bearer' access.log", false],
    ["cargo test -- token::tests::refresh", false],
    [
      "docker run alpine:3.19@sha256:c48e530444b5026cf9025cff09a6a98a9480373549a491253474770e7958a791",
      false,
    ],
    ['echo \'{"alg":"HS256","typ":"JWT"}\' | base64', false],
    ["curl https://Xk29dLq7mN4pQ8vR2sT6:@api.example.com/v1", true],
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

Deno.test("holdsBuiltinSecret() reads credentials given by position, on stdin and in SQL rows", () => {
  const cases: [string, boolean][] = [
    // Code run from the shell: a login call, a user/password pair, a JWT signing key.
    [`php -r '$db = new PDO("mysql:host=db;dbname=a", "root", "Hunter#22");'`, true],
    [`php -r 'new PDO("sqlite:/tmp/a.db");'`, false],
    [`perl -MDBI -e 'DBI->connect("dbi:Pg:dbname=a", "app", "Hunter#22")'`, true],
    [`python -c "client.login('alice@example.com', getpass())"`, false],
    [`python -c "requests.get(u, auth=('ops', 'Hunter22x'))"`, true],
    [`python -c "requests.get(u, auth=('ops', os.environ['PW']))"`, false],
    [`node -e "console.log(jwt.sign({sub: 1}, 'sign-me-9f8e7d'))"`, true],
    [`python -c "print(jwt.encode({'sub': '1'}, key, algorithm='HS256'))"`, false],
    // A one-word password-like literal on stdin to a login, or being encoded.
    ["gcloud sql connect db --user=postgres <<< 'Hunter#22'", true],
    ['gcloud sql connect db --user=postgres <<< "$PW"', false],
    ["mysql -u root <<< 'SELECT 1;'", false],
    ["echo -n 'Hunter#22' | base64", true],
    ["echo -n 'my-app-2024' | base64", false],
    ["echo 'SGVsbG8sIFdvcmxkIQ==' | base64 -d", false],
    ['$s = "Hunter#22" | ConvertTo-SecureString -AsPlainText -Force', true],
    ["Get-Content .\\pw.txt | ConvertTo-SecureString -AsPlainText -Force", false],
    ['echo "deploy:$NEW_PW" | sudo chpasswd', false],
    // A column that names a secret, and its literal.
    [`psql -c "INSERT INTO clients (name, secret) VALUES ('ci', 'c1-Xk29dLq7')"`, true],
    [`psql -c "INSERT INTO users (email, reset_token) VALUES ('a@b.c', NULL)"`, false],
    // Names and references that only look like secrets.
    [
      "aws secretsmanager rotate-secret --secret-id arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf",
      false,
    ],
    ['redis-cli GET "token:user:42"', false],
    ['redis-cli TTL "auth:token:8f2b4c6d"', false],
    ["export TWILIO_ACCOUNT_SID=AC1f2e3d4c5b6a79881726354453627181", false],
    ["export SESSION_SID=Xk9mP2qR7vT4wY8z", true],
    [
      'curl -H "Idempotency-Key: 8e03978e-40d5-43e8-bc93-6894a57f9324" https://api.example.com',
      false,
    ],
    [
      "cosign sign --key env://COSIGN_PRIVATE_KEY ghcr.io/a/b@sha256:4f8a2b9c7d1e3f5a6b8c0d2e4f6a8b0c",
      false,
    ],
    ["poetry config pypi-token.pypi Xk29dLq7mN4pQ8vR", true],
    // A subcommand that names a secret, an account, then the secret.
    ["drush user:password admin 'Hunter#22'", true],
    ["consul acl set-agent-token agent b21b311e-7788-4996-be5e-efad95a3b3ca", true],
    ["npm token revoke 2bb381e9", false],
    ["kubectl create token ci --duration=1h", false],
    ["keyring set system bot 'Hunter#22'", true],
    ["curl --cert client.pem:Hunter22x https://api.example.com", true],
    ["curl --cert client.pem https://api.example.com", false],
    // A name and its value set from code, and a secret made into a file for a secret store.
    ['[Environment]::SetEnvironmentVariable("DB_PASSWORD", "Hunter#22", "User")', true],
    ['[Environment]::SetEnvironmentVariable("PATH", "C:\\bin", "User")', false],
    [`ruby -e 'ENV["API_TOKEN"] = "Hunter22x"'`, true],
    [`python -c 'import os; print(os.environ["API_KEY"])'`, false],
    ["gcloud secrets versions add db --data-file=<(echo -n 'Hunter#22')", true],
    ["gcloud secrets versions add db --data-file=<(echo -n $PW)", false],
    ['export MNEMONIC="abandon ability able about above absent absorb abstract absurd"', true],
  ];
  assertVerdicts(cases);
});

// The fixtures hold one command a line; commands continued over lines are checked here.
Deno.test("holdsBuiltinSecret() reads commands continued over lines", () => {
  const cases: [string, boolean][] = [
    [
      "curl -X POST https://api.example.com/v1 \\\n  -H 'Authorization: Bearer Xk29dLq7mN4pQ8vR' \\\n  -d a=1",
      true,
    ],
    [
      'curl -X POST https://api.example.com/v1 \\\n  -H "Authorization: Bearer $TOKEN" \\\n  -d a=1',
      false,
    ],
    ["docker run -d \\\n  -e POSTGRES_PASSWORD='Hunter#22' \\\n  -p 5432:5432 postgres:16", true],
    [
      "docker run -d \\\n  -e POSTGRES_PASSWORD_FILE=/run/secrets/pg \\\n  -p 5432:5432 postgres:16",
      false,
    ],
    ["mysql -h db \\\n  -u root \\\n  -pHunter22x app", true],
    ["mysql -h db \\\n  -u root \\\n  -p app", false],
    ["sshpass -p \\\n  'Hunter#22' ssh host", true],
    ["ssh -p 2222 \\\n  deploy@host", false],
    [
      'Invoke-RestMethod -Uri https://x `\n  -Headers @{Authorization = "Bearer Xk29dLq7mN4pQ8vR"}',
      true,
    ],
    [`psql -c "ALTER USER app\n  WITH PASSWORD 'Hunter22x'"`, true],
    [`python -c "print(login('admin', 'Welcome to 2024!'))"`, false],
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
    // Whole-command facts and tool checks are read once per command, not once per flag or
    // per repetition of the tool (these took 0.3 to 1.8 s before).
    ["-p Hunter22 ", false],
    ["--value Xk29dLq7 ", false],
    ["net use ", false],
    ["expect -c ", false],
    ["kubectl create secret ", false],
    // Positional credentials in code and SQL rows: each start reads a bounded stretch.
    ["connect('a', 'b', ", false],
    ["jwt.sign(a, ", false],
    ["auth=(' ", false],
    ["insert into t (", false],
    ["insert into t (a) values ('x', ", false],
    ["setenv('TOKEN', ", false],
  ];
  assertVerdicts(units.map(([unit, expected]) => [fill(unit), expected]));
});
