/** Team sync over the WebSocket (DESIGN.md §6, §11), on the embedded database and on Postgres. */
import assert from "node:assert/strict";
import { encodePosition } from "../../sync/cursor.ts";
import { openTestApp } from "../support/app.ts";
import { change, command } from "../support/changes.ts";
import { withDrivers } from "../support/drivers.ts";
import { eventually } from "../support/eventually.ts";
import { outcome, pushOk } from "../support/sync_api.ts";
import { changeAccount, profile, teamChange, teamDevice } from "../support/teams.ts";
import { assertPong, connectWs, type WsClient } from "../support/ws_client.ts";

const at = (user: number, team: number, teamId = "acme") => encodePosition({ user, team }, teamId);

/** A socket that said hello (at `cursor`) and is subscribed: its pong came back. */
async function listening(base: string, token: string, cursor?: string): Promise<WsClient> {
  const ws = await connectWs(base, token);
  ws.send({ type: "hello", ...(cursor && { cursor }) });
  await assertPong(ws);
  return ws;
}

withDrivers("team sync over the socket", (_open, kind) => {
  Deno.test({
    name: "an admin's push reaches its team's sockets with the push's cursor, and no one else's",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const phone = await teamDevice(t, "ann", "acme", "admin");
      const laptop = await teamDevice(t, "ann", "acme", "admin", { name: "laptop" });
      const bob = await teamDevice(t, "bob", "acme");
      const cid = await teamDevice(t, "cid", "globex");
      const dee = await teamDevice(t, "dee", "acme", "admin", { tier: "pro" });
      await using onLaptop = await listening(base, laptop.token);
      await using onBob = await listening(base, bob.token);
      await using onCid = await listening(base, cid.token);
      await using onDee = await listening(base, dee.token);

      const team = await pushOk(t, phone.token, [teamChange("db", profile("db"))]);
      assert.equal(team.cursor, at(0, 1));
      const hint = {
        type: "sync_data_available",
        cursor: team.cursor,
        collections: ["team_ssh_profiles"],
        origin_device_id: phone.id,
      };
      assert.deepEqual(await onBob.next(), hint);
      assert.deepEqual(await onLaptop.next(), hint);

      // Ann's own items reach only Ann's devices; Bob's refused write reaches no one.
      const own = await pushOk(t, phone.token, [change("ssh_profiles", "mine", profile("mine"))]);
      assert.equal(own.cursor, at(1, 0));
      assert.deepEqual(await onLaptop.next(), {
        ...hint,
        cursor: own.cursor,
        collections: ["ssh_profiles"],
      });
      const refused = await pushOk(t, bob.token, [
        teamChange("db", profile("x"), { base_version: 1 }),
      ]);
      assert.deepEqual(refused.results.map(outcome), ["FORBIDDEN"]);
      await Promise.all([onBob, onCid, onDee].map((ws) => ws.quiet(200)));
      await assertPong(onBob);
    },
  });

  Deno.test({
    name:
      "hello catches a member up on both streams; a c1 cursor from before it joined, on the team's",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const phone = await teamDevice(t, "bob", null);
      const tablet = await teamDevice(t, "bob", null, "member", { name: "tablet" });
      const before = await pushOk(t, tablet.token, [command("ls")]);
      assert.equal(before.cursor, "c1.1");
      await changeAccount(t, "bob", { teamId: "acme" });
      await pushOk(t, admin.token, [
        teamChange("db", profile("db")),
        teamChange("web", profile("web")),
      ]);

      await using ws = await connectWs(base, phone.token);
      ws.send({ type: "hello" });
      assert.deepEqual(await ws.next(), {
        type: "sync_data_available",
        cursor: at(1, 2),
        collections: ["commands", "team_ssh_profiles"],
        origin_device_id: null,
      });
      ws.send({ type: "hello", cursor: before.cursor });
      assert.deepEqual(await ws.next(), {
        type: "sync_data_available",
        cursor: at(1, 2),
        collections: ["team_ssh_profiles"],
        origin_device_id: admin.id,
      });
      ws.send({ type: "hello", cursor: at(1, 2) });
      await assertPong(ws);
    },
  });

  Deno.test({
    name: "an ack stores both parts of the cursor; one of another team stores only the user's",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const phone = await teamDevice(t, "bob", "acme");
      const tablet = await teamDevice(t, "bob", "acme", "member", { name: "tablet" });
      await pushOk(t, admin.token, [teamChange("db", profile("db"))]);
      await pushOk(t, tablet.token, [command("ls"), command("pwd")]);
      await using onTablet = await listening(base, tablet.token, at(2, 1));
      await using ws = await listening(base, phone.token, at(2, 1));
      assert.equal((await onTablet.next()).type, "device_status");

      ws.send({ type: "ack", cursor: at(2, 1) });
      assert.deepEqual(await onTablet.next(), {
        type: "sync_completed",
        device_id: phone.id,
        cursor: at(2, 1),
      });
      const stored = async () => {
        const [row] = await t.db.driver.query<
          { cursor: number; team_cursor: number; cursor_team_id: string }
        >("select cursor, team_cursor, cursor_team_id from devices where id = $1", [phone.id]);
        return [Number(row.cursor), Number(row.team_cursor), row.cursor_team_id];
      };
      assert.deepEqual(await stored(), [2, 1, "acme"]);
      const list = await (await t.request("GET", "/api/devices", { token: phone.token })).json();
      const listed = list.devices.find((d: { id: string }) => d.id === phone.id);
      assert.equal(listed.cursor, at(2, 1));

      // A cursor past a stream's head is stored at the head; an older one moves nothing back.
      ws.send({ type: "ack", cursor: at(1, 0) });
      ws.send({ type: "ack", cursor: at(9, 9) });
      await assertPong(ws);
      assert.deepEqual(await stored(), [2, 1, "acme"]);
      // Another team's cursor says nothing of this team's stream.
      ws.send({ type: "ack", cursor: at(2, 1, "globex") });
      await assertPong(ws);
      assert.deepEqual(await stored(), [2, 1, "acme"]);
    },
  });

  Deno.test({
    name:
      "a change of the user's team closes its sockets with 1012; back, hello hints a pull that answers 410",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const phone = await teamDevice(t, "bob", "acme");
      await pushOk(t, admin.token, [teamChange("db", profile("db"))]);
      const pulled = await (await t.request("GET", "/api/sync/data", { token: phone.token }))
        .json();
      await using ws = await listening(base, phone.token, pulled.cursor);

      // A new role in the same team changes nothing the socket receives.
      await changeAccount(t, "bob", { teamId: "acme", role: "admin" });
      await ws.quiet(200);
      await changeAccount(t, "bob", { teamId: null });
      assert.deepEqual(await ws.closed, { code: 1012, reason: "Team changed: reconnect" });
      await eventually(() => t.hub.stats().sockets === 0, 2000, "the socket left the hub");

      await using back = await connectWs(base, phone.token);
      back.send({ type: "hello", cursor: pulled.cursor });
      const hint = await back.next();
      assert.equal(hint.type, "sync_data_available");
      assert.equal(hint.type === "sync_data_available" && hint.cursor, "c1.0");
      const res = await t.request("GET", `/api/sync/data?since=${pulled.cursor}`, {
        token: phone.token,
      });
      assert.equal(res.status, 410);
      await res.body?.cancel();
      // No longer a member: the team's changes no longer reach it.
      await pushOk(t, admin.token, [teamChange("web", profile("web"))]);
      await back.quiet(200);
    },
  });
});
