import assert from "node:assert/strict";
import { freePort } from "./cluster.ts";
import { onFreshPorts, RedisExited, redisProcess } from "./redis_process.ts";

Deno.test("redisProcess: a server that exits while starting fails with its own log's reason; stop() after it resolves", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "devpocket-redis-process-test-" });
  try {
    await t.step("cluster mode on a port whose bus port would pass 65,535", async () => {
      const server = redisProcess(58_123, `${dir}/high.log`, [
        "--cluster-enabled",
        "yes",
        "--dir",
        dir,
      ]);
      const error = await server.start().then(() => null, (e: unknown) => e);
      assert.ok(error instanceof RedisExited, `expected RedisExited, got ${error}`);
      assert.match(error.message, /port 58123 exited: .*55535 or less/);
      await server.stop();
    });

    await t.step("a port another process already listens on", async () => {
      using taken = Deno.listen({ hostname: "127.0.0.1", port: freePort() });
      const port = (taken.addr as Deno.NetAddr).port;
      const server = redisProcess(port, `${dir}/taken.log`);
      const error = await server.start().then(() => null, (e: unknown) => e);
      assert.ok(error instanceof RedisExited, `expected RedisExited, got ${error}`);
      assert.match(error.message, new RegExp(`port ${port} exited: .*in use`));
      await server.stop();
    });

    await t.step(
      "a free port: it answers, and starts again on the same port after a kill",
      async () => {
        const port = freePort();
        const server = redisProcess(port, `${dir}/ok.log`);
        await server.start();
        await server.stop();
        await server.start();
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.close();
        await server.stop();
        await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onFreshPorts: starts again only after a server exited at start, three attempts in all", async () => {
  let attempts = 0;
  const exitsOnce = await onFreshPorts(() => {
    attempts++;
    return attempts === 1 ? Promise.reject(new RedisExited(1, "taken")) : Promise.resolve("up");
  });
  assert.deepEqual([exitsOnce, attempts], ["up", 2]);

  attempts = 0;
  await assert.rejects(
    onFreshPorts(() => (attempts++, Promise.reject(new RedisExited(1, "taken")))),
    RedisExited,
  );
  assert.equal(attempts, 3);

  attempts = 0;
  await assert.rejects(
    onFreshPorts(() => (attempts++, Promise.reject(new Error("redis-server not found")))),
    /not found/,
  );
  assert.equal(attempts, 1);
});
