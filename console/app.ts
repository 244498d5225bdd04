/**
 * The web console (`GET /console`): paste an account token (or a device token), see the
 * user's devices, stats and open conflicts, resolve conflicts and remove devices, with
 * live updates over the sync socket. Built on the client library; bundled into
 * console.js by `deno task build-console`.
 *
 * Tokens stay in memory; the pasted one also in sessionStorage (this tab only), so a reload
 * keeps the session. An account token registers the console as a device of its own ("Web
 * console", one per browser), which acknowledges what it is told so it never holds back
 * tombstone compaction; a pasted device token only watches.
 */
import { registerDevice } from "../client/register_device.ts";
import { SyncApi } from "../client/sync_api.ts";
import { SyncSocket } from "../client/sync_socket.ts";
import type { ConflictView, ServerMessage } from "../client/wire.ts";
import { byId, h, local, session } from "./dom.ts";
import { conflictsView, devicesView, statsView } from "./views.ts";

const TOKEN_KEY = "devpocket.console.token";
const INSTALL_KEY = "devpocket.console.install_id";
const baseUrl = (globalThis as unknown as { location: { origin: string } }).location.origin;

interface Session {
  /** Device token: stats, conflicts, the socket. */
  device: SyncApi;
  /** Account token when given (else the device token): the device list and removals. */
  manage: SyncApi;
  socket: SyncSocket;
  /** The console's own device (account token), which acknowledges; null when watching. */
  me: string | null;
}

let current: Session | null = null;
const pending = new Map<string, ReturnType<typeof setTimeout>>();

byId("login").addEventListener("submit", (event) => {
  event.preventDefault();
  void open(byId("token").value.trim());
});
byId("sign-out").addEventListener("click", () => close("Signed out."));
const saved = session().getItem(TOKEN_KEY);
if (saved) void open(saved);
setInterval(() => current && later("devices"), 30_000);

async function open(token: string): Promise<void> {
  if (!token) return;
  showError("");
  try {
    let deviceToken = token;
    let me: string | null = null;
    if (!token.startsWith("dpd_")) {
      const registered = await registerDevice({
        baseUrl,
        accountToken: token,
        name: "Web console",
        platform: "web",
        installId: installId(),
      });
      deviceToken = registered.token;
      me = registered.device.id;
    }
    const device = new SyncApi({ baseUrl, token: deviceToken });
    const stats = await device.stats();
    const socket = new SyncSocket({
      baseUrl,
      token: deviceToken,
      cursor: () => stats.cursor,
      onMessage: onMessage,
      onOpen: () => live(true),
      onClose: () => live(false),
      onUnauthorized: () => close("The token is no longer valid (or this device was removed)."),
    });
    close("");
    current = { device, manage: new SyncApi({ baseUrl, token }), socket, me };
    session().setItem(TOKEN_KEY, token);
    byId("token").value = "";
    byId("login").hidden = true;
    byId("main").hidden = false;
    byId("sign-out").hidden = false;
    socket.start();
    for (const panel of ["devices", "stats", "conflicts"] as const) later(panel, 0);
  } catch (error) {
    showError(`Could not open the console: ${describe(error)}`);
  }
}

function close(message: string): void {
  current?.socket.stop();
  current = null;
  session().removeItem(TOKEN_KEY);
  byId("login").hidden = false;
  byId("main").hidden = true;
  byId("sign-out").hidden = true;
  live(false);
  showError(message);
}

function onMessage(message: ServerMessage): void {
  if (message.type !== "pong") log(message);
  switch (message.type) {
    case "sync_data_available":
      later("stats");
      later("devices");
      // The console holds no items: having been told is all there is to apply.
      if (current?.me) current.socket.send({ type: "ack", cursor: message.cursor });
      break;
    case "sync_conflict":
      later("conflicts");
      later("stats");
      break;
    case "device_status":
    case "sync_completed":
      later("devices");
      break;
  }
}

/** Refreshes a panel soon; events that arrive together refresh it once. */
function later(panel: "devices" | "stats" | "conflicts", ms = 150): void {
  if (pending.has(panel)) return;
  pending.set(
    panel,
    setTimeout(() => {
      pending.delete(panel);
      void refresh(panel);
    }, ms),
  );
}

async function refresh(panel: "devices" | "stats" | "conflicts"): Promise<void> {
  const s = current;
  if (!s) return;
  try {
    if (panel === "devices") {
      byId("devices").replaceChildren(
        devicesView(await s.manage.devices(), s.me, actions, Date.now()),
      );
    } else if (panel === "stats") {
      byId("stats").replaceChildren(statsView(await s.device.stats()));
    } else {
      byId("conflicts").replaceChildren(conflictsView(await s.device.conflicts("open"), actions));
    }
  } catch (error) {
    showError(`Refreshing ${panel} failed: ${describe(error)}`);
  }
}

const actions = {
  deleteDevice(id: string): void {
    const s = current;
    if (!s) return;
    s.manage.deleteDevice(id).then(
      () => later("devices", 0),
      (error) => showError(`Removing the device failed: ${describe(error)}`),
    );
  },
  resolve(conflict: ConflictView, resolution: "local" | "remote" | "merged", remember: boolean) {
    const s = current;
    if (!s) return;
    const data = resolution === "merged"
      ? { ...conflict.remote.data, ...conflict.local.data }
      : undefined;
    s.device.resolve(conflict.id, {
      resolution,
      ...(data && { data }),
      ...(remember && { remember }),
    }).then(
      () => {
        later("conflicts", 0);
        later("stats", 0);
      },
      (error) => {
        showError(`Resolving failed: ${describe(error)}`);
        later("conflicts", 0);
      },
    );
  },
};

function installId(): string {
  let id = local().getItem(INSTALL_KEY);
  if (!id) local().setItem(INSTALL_KEY, id = `console-${crypto.randomUUID()}`);
  return id;
}

function live(open: boolean): void {
  const badge = byId("live");
  badge.textContent = open ? "live" : "not connected";
  badge.className = open ? "badge live" : "badge";
}

function log(message: ServerMessage): void {
  const events = byId("events");
  const { type, ...rest } = message;
  const line = h(
    "li",
    {},
    h("time", {}, new Date().toLocaleTimeString()),
    ` ${type} `,
    h("code", {}, JSON.stringify(rest)),
  );
  events.append(line);
  const items =
    (events as unknown as { children: { length: number; item(i: number): { remove(): void } } })
      .children;
  while (items.length > 20) items.item(0).remove();
}

function showError(message: string): void {
  byId("error").textContent = message;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
