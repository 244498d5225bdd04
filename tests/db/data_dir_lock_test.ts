import assert from "node:assert/strict";
import { DataDirInUse, lockDataDir } from "../../db/data_dir_lock.ts";
import { openPgliteDriver } from "../../db/pglite_driver.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "devpocket-lock-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a second open of an embedded data directory while the first holds it fails with DataDirInUse naming the holder, and the first's data is untouched", async () => {
  await withTempDir(async (dir) => {
    const first = await openPgliteDriver(`${dir}/pgdata`);
    try {
      await first.query("create table kept (n int)");
      await first.query("insert into kept values (42)");
      const waits: (number | null)[] = [];
      const second = await openPgliteDriver(`${dir}/pgdata`, undefined, {
        waitMs: 300,
        onWait: (pid) => waits.push(pid),
      }).then(() => null, (error: unknown) => error);
      assert.ok(second instanceof DataDirInUse, `expected DataDirInUse, got ${second}`);
      assert.equal(second.holderPid, Deno.pid);
      assert.equal(second.lockPath, `${dir}/pgdata.lock`);
      assert.deepEqual(waits, [Deno.pid]);
      assert.deepEqual(await first.query("select n from kept"), [{ n: 42 }]);
      await first.query("insert into kept values (43)");
    } finally {
      await first.close();
    }
    // Closed, the directory is free again, with everything the first wrote.
    const reopened = await openPgliteDriver(`${dir}/pgdata`, undefined, { waitMs: 300 });
    try {
      assert.deepEqual(await reopened.query("select n from kept order by n"), [{ n: 42 }, {
        n: 43,
      }]);
    } finally {
      await reopened.close();
    }
  });
});

Deno.test("an open that finds its data directory held waits, and gets it as soon as the holder lets go", async () => {
  await withTempDir(async (dir) => {
    const release = await lockDataDir(`${dir}/pgdata.lock`, { waitMs: 0 });
    const started = performance.now();
    let waited = false;
    const opening = openPgliteDriver(`${dir}/pgdata`, undefined, {
      waitMs: 10_000,
      onWait: () => waited = true,
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    release();
    const driver = await opening;
    try {
      assert.equal(waited, true);
      assert.ok(performance.now() - started >= 400, "opened before the holder let go");
      assert.deepEqual(await driver.query("select 1 as one"), [{ one: 1 }]);
    } finally {
      await driver.close();
    }
  });
});

Deno.test("a lock whose holder ended is free at once: the OS lets go with the process, so nothing stale is left behind", async () => {
  await withTempDir(async (dir) => {
    const lockPath = `${dir}/pgdata.lock`;
    // Another process takes the lock and exits without releasing it.
    const holder = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = await Deno.open(${
          JSON.stringify(lockPath)
        }, { write: true, create: true }); await f.lock(true); await f.write(new TextEncoder().encode(Deno.pid + "\\n"));`,
      ],
      stdin: "null",
    }).output();
    assert.equal(holder.code, 0, new TextDecoder().decode(holder.stderr));
    const held = Number.parseInt(await Deno.readTextFile(lockPath), 10);
    assert.ok(held > 0 && held !== Deno.pid);
    const waits: (number | null)[] = [];
    const release = await lockDataDir(lockPath, { waitMs: 300, onWait: (pid) => waits.push(pid) });
    release();
    assert.deepEqual(waits, []);
    assert.equal(Number.parseInt(await Deno.readTextFile(lockPath), 10), Deno.pid);
  });
});

Deno.test("a held lock whose file names no pid (garbage written into it) is still refused, with a message that names no pid", async () => {
  await withTempDir(async (dir) => {
    const lockPath = `${dir}/pgdata.lock`;
    const holder = await Deno.open(lockPath, { write: true, create: true });
    try {
      await holder.lock(true);
      await holder.write(new TextEncoder().encode("not a pid\n"));
      const refused = await lockDataDir(lockPath, { waitMs: 200 }).then(
        () => null,
        (error: unknown) => error,
      );
      assert.ok(refused instanceof DataDirInUse, `expected DataDirInUse, got ${refused}`);
      assert.equal(refused.holderPid, null);
      assert.equal(refused.message, `${lockPath} is held by another process`);
      // The refused open leaves the holder's file as it was.
      assert.equal(await Deno.readTextFile(lockPath), "not a pid\n");
    } finally {
      holder.close();
    }
  });
});
