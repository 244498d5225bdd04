/**
 * `deno task start` and `deno task compile` as a self-hoster runs them: the narrowed
 * permissions are enough for the embedded default, refuse a DATA_DIR they do not cover
 * with a clear message, and the compiled binary carries the migrations.
 */
import assert from "node:assert/strict";
import { MIGRATIONS } from "../../db/migrations.ts";
import pgdataTemplate from "../../db/pgdata_template.b64" with { type: "text" };
import { compileArgs } from "../../scripts/compile.ts";
import { mintAccountToken } from "../../sync/account_tokens.ts";
import { pullAll, push, randomUser, watch } from "../e2e/devices.ts";
import { disabledFeatures, grants, taskEnv, TASKS, v8Flags } from "../support/deno_tasks.ts";
import { requester } from "../support/instance.ts";
import { passedThroughEnv, startServiceProcess } from "../support/service_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** `deno task start` in the project with `env` alone (and PATH/HOME), to its exit. */
function startTask(env: Record<string, string>): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "start"],
    cwd: ROOT,
    env: { ...passedThroughEnv(), ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
}

Deno.test("deno task start grants net, env, read of ./data and Deno's npm cache, write of ./data: nothing else", async () => {
  assert.deepEqual(grants(TASKS.start), {
    "--allow-net": true,
    "--allow-env": true,
    "--allow-read": [
      "./data",
      "$DENO_DIR/npm",
      "$HOME/.cache/deno/npm",
      "$HOME/Library/Caches/deno/npm",
    ],
    "--allow-write": ["./data"],
  });
  // The binary reads npm packages from itself (an implicit grant): ./data is all it touches.
  assert.deepEqual(grants((await compileArgs()).join(" ")), {
    "--allow-net": true,
    "--allow-env": true,
    "--allow-read": ["./data"],
    "--allow-write": ["./data"],
  });
});

Deno.test("deno task start and the compiled binary run with the same V8 flags: a young generation of 4 MB semi-spaces, an old one growing 1.2x past what a full GC keeps", async () => {
  assert.deepEqual(v8Flags(TASKS.start), [
    "--max-semi-space-size=4",
    "--heap-growing-percent=20",
  ]);
  assert.deepEqual(v8Flags((await compileArgs()).join(" ")), v8Flags(TASKS.start));
});

Deno.test("deno task start and the compiled binary run without Deno's code cache, whose mapped pages stay resident", async () => {
  assert.deepEqual(disabledFeatures(TASKS.start), ["--no-code-cache"]);
  assert.deepEqual(disabledFeatures((await compileArgs()).join(" ")), ["--no-code-cache"]);
});

Deno.test("deno task start runs with one malloc arena (MALLOC_ARENA_MAX=1), as the bench starts the service", () => {
  // glibc gives each thread that allocates an arena of its own (up to 8 per core), and keeps
  // what a thread freed at the top of its arena resident; with one arena the memory trim
  // (sync/memory_trim.ts) gives all of it back. The binary cannot carry it: README.
  assert.deepEqual(taskEnv(TASKS.start), { MALLOC_ARENA_MAX: "1" });
});

Deno.test("deno task start, embedded (PGlite, in-process bus), serves register, push, pull and a socket with those permissions alone", async () => {
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  try {
    await using service = await startServiceProcess({ DATA_DIR: dataDir, LOG_LEVEL: "warn" });
    const ready = await (await fetch(`${service.url}/ready`)).json();
    assert.deepEqual([ready.database.kind, ready.bus.kind], ["pglite", "memory"]);
    // The secret embedded mode generated into DATA_DIR, as `deno task mint-token` reads it.
    const secret = (await Deno.readTextFile(`${ROOT}${dataDir}/jwt_secret`)).trim();
    const endpoint = { url: service.url, request: requester(service.url) };
    const user = randomUser();
    const token = await mintAccountToken(secret, {
      userId: user,
      tier: "pro",
      expiresInSeconds: 60,
    });
    const devices = await Promise.all(["laptop", "phone"].map(async (name) => {
      const res = await endpoint.request("POST", "/api/devices/register", {
        token,
        body: { name, platform: "ios" },
      });
      assert.equal(res.status, 201);
      const body = await res.json();
      return { id: body.device.id, token: body.token };
    }));
    await using onPhone = await watch(endpoint, devices[1]);
    const pushed = await push(endpoint, devices[0], { commands: 2, profile: true });
    assert.equal((await onPhone.waitFor(pushed.cursor)).cursor, pushed.cursor);
    const pulled = await pullAll(endpoint, devices[1]);
    assert.deepEqual(pulled.keys.sort(), [...pushed.keys].sort());
    assert.equal(pulled.cursor, pushed.cursor);
  } finally {
    await Deno.remove(`${ROOT}${dataDir}`, { recursive: true }).catch(() => {});
  }
});

Deno.test("deno task start stops with a message naming DATA_DIR when it is outside what the task may write", async () => {
  const outside = await Deno.makeTempDir();
  try {
    const output = await startTask({ DATA_DIR: outside });
    assert.equal(output.code, 1);
    const stderr = new TextDecoder().decode(output.stderr).trim();
    assert.equal(
      stderr,
      `DATA_DIR "${outside}" is outside what this process may read: \`deno task start\` grants ` +
        "./data only; keep DATA_DIR under ./data, or run main.ts with " +
        "--allow-read=<DATA_DIR> --allow-write=<DATA_DIR> (see README, Self-hosting)",
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("deno task start on a DATA_DIR whose database directory holds other files but no database stops with a message naming DATA_DIR, and writes nothing there", async () => {
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  try {
    await Deno.mkdir(`${ROOT}${dataDir}/pgdata`, { recursive: true });
    await Deno.writeTextFile(`${ROOT}${dataDir}/pgdata/notes.txt`, "mine");
    const output = await startTask({ DATA_DIR: dataDir, PORT: "0" });
    assert.equal(output.code, 1);
    assert.equal(
      new TextDecoder().decode(output.stderr).trim(),
      `DATA_DIR "${dataDir}": "${dataDir}/pgdata" holds files but no database (no PG_VERSION), ` +
        "and a new database is not written over other files. Move them away, or give the " +
        "service another DATA_DIR",
    );
    const left = await Array.fromAsync(
      Deno.readDir(`${ROOT}${dataDir}/pgdata`),
      (entry) => entry.name,
    );
    assert.deepEqual(left, ["notes.txt"]);
  } finally {
    await Deno.remove(`${ROOT}${dataDir}`, { recursive: true }).catch(() => {});
  }
});

Deno.test("a second deno task start on the same DATA_DIR waits for the first, then stops with a message naming DATA_DIR; the first goes on serving", async () => {
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  try {
    await using first = await startServiceProcess({ DATA_DIR: dataDir, LOG_LEVEL: "warn" });
    const started = performance.now();
    const output = await startTask({ DATA_DIR: dataDir, PORT: "0" });
    assert.equal(output.code, 1);
    // It waited the lock's 15 s (a restart's old process may still be draining).
    assert.ok(performance.now() - started >= 15_000);
    const warnings = new TextDecoder().decode(output.stdout).trim().split("\n")
      .map((line) => JSON.parse(line)).filter((line) => line.level === "warn");
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].data_dir, dataDir);
    assert.match(
      warnings[0].message,
      /^DATA_DIR is in use by another process \(pid \d+\): waiting for it to exit$/,
    );
    assert.match(
      new TextDecoder().decode(output.stderr).trim(),
      new RegExp(
        `^DATA_DIR "${dataDir}" is in use by another process \\(pid \\d+\\): one service per ` +
          "data directory \\(two would write the same database files\\)\\. Stop the other one, " +
          "or give this one a DATA_DIR of its own$",
      ),
    );
    const ready = await fetch(`${first.url}/ready`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
  } finally {
    await Deno.remove(`${ROOT}${dataDir}`, { recursive: true }).catch(() => {});
  }
});

Deno.test("deno task compile's command builds one binary carrying every migration and the embedded database's template (a stand-in replaces the runtime download)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // deno compile appends the program to a copy of `denort`, downloaded on first use (no
    // network here): any executable stands in for it, and the program is what is checked.
    await Deno.copyFile("/bin/true", `${dir}/denort`);
    const binary = `${dir}/devpocket-sync`;
    const args = (await compileArgs()).map((arg, i, all) =>
      all[i - 1] === "--output" ? binary : arg
    );
    assert.ok(args.includes(binary), "the task names its --output");
    const output = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      env: { ...passedThroughEnv(), DENORT_BIN: `${dir}/denort` },
      clearEnv: true,
      stdin: "null",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const embedded = new TextDecoder("latin1").decode(await Deno.readFile(binary));
    for (const { name, sql } of MIGRATIONS) {
      const asBytes = new TextDecoder("latin1").decode(new TextEncoder().encode(sql));
      assert.ok(embedded.includes(asBytes), `${name} is in the binary`);
    }
    assert.ok(embedded.includes(pgdataTemplate), "db/pgdata_template.b64 is in the binary");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
