import { Hono } from "hono";
import { AppError } from "../sync/errors.ts";
import { sha256Hex } from "../sync/hashing.ts";
import type { DeviceService } from "../sync/device_service.ts";
import type { SocketIdentity } from "../sync/ws/connection.ts";
import { WS_BEARER_PREFIX, WS_PROTOCOL } from "../sync/ws/messages.ts";
import type { Hub } from "../sync/ws/hub.ts";
import type { AppEnv } from "./env.ts";

/**
 * `GET /api/sync/ws` (DESIGN.md §6). Mount it before the `/api/sync` routes: their auth
 * middleware wants an `Authorization` header, which browsers cannot set on a WebSocket.
 *
 * - Token: `Sec-WebSocket-Protocol: devpocket.sync.v1, bearer.<token>` (any RFC 6455
 *   spacing around the commas), else `?token=`.
 * - Only `devpocket.sync.v1` is echoed, never the token entry, and nothing when the client
 *   offered no subprotocol.
 * - A missing, invalid or revoked token is upgraded and closed with 4401, because a browser
 *   cannot read the status of a refused upgrade. A disallowed `Origin` is refused with 403
 *   before any upgrade: a page on another site never gets an open socket.
 * - The token is never logged.
 */
export function wsRoutes(deps: { devices: DeviceService; hub: Hub }): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/ws", async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError("VALIDATION_FAILED", "GET /api/sync/ws expects a WebSocket upgrade", {
        fields: { upgrade: "must be websocket" },
      });
    }
    const origin = c.req.header("origin");
    if (!deps.hub.acceptsOrigin(origin)) {
      throw new AppError("FORBIDDEN", `Origin is not allowed to open a sync socket: ${origin}`);
    }
    const offered = subprotocols(c.req.header("sec-websocket-protocol"));
    // A client that offers subprotocols fails the handshake unless one is echoed.
    if (offered.length > 0 && !offered.includes(WS_PROTOCOL)) {
      throw new AppError("VALIDATION_FAILED", `Sec-WebSocket-Protocol must offer ${WS_PROTOCOL}`, {
        fields: { "sec-websocket-protocol": `must include ${WS_PROTOCOL}` },
      });
    }
    const token = offered.find((p) => p.startsWith(WS_BEARER_PREFIX))
      ?.slice(WS_BEARER_PREFIX.length) ?? c.req.query("token");
    const device = token ? await authenticate(deps.devices, token) : null;
    const { socket, response } = upgrade(
      c.req.raw,
      offered.length > 0 ? WS_PROTOCOL : undefined,
      deps.hub.idleTimeoutSeconds,
    );
    deps.hub.handle(socket, device);
    return response;
  });
}

/**
 * The entries of a `Sec-WebSocket-Protocol` list: comma-separated, with optional spaces or
 * tabs around each (RFC 6455 §4.1 by way of RFC 7230 §7); empty entries are skipped.
 */
function subprotocols(header: string | undefined): string[] {
  return (header ?? "").split(",").map((p) => p.replace(/^[ \t]+|[ \t]+$/g, "")).filter(Boolean);
}

/**
 * `Deno.upgradeWebSocket` with `protocol` always given: echoed when set, nothing when not.
 * Deno reads the offered list from `request.headers` and splits it on ", " exactly, so a
 * list like "devpocket.sync.v1,bearer.<token>" (valid, and what common clients send) fails
 * its check with a TypeError, a 500. Such a request is upgraded through a view whose list
 * holds only what is echoed; the connection being upgraded is still the request's own.
 *
 * Deno keeps what it is handed for as long as the socket lives. So a list Deno splits right
 * goes as it came, and the view holds no copy of the headers: a copy, and the header list
 * the request built to be copied, were 2.6 KiB of each idle socket's heap (10,000 sockets,
 * bench/idle_sockets.ts: 7.7 KiB each before; now 5.1 KiB as it came, 5.5 KiB through the
 * view; a bare `Deno.upgradeWebSocket` server holds 4.4).
 */
function upgrade(
  request: Request,
  protocol: string | undefined,
  idleTimeout: number,
): Deno.WebSocketUpgrade {
  const options = { protocol: protocol ?? "", idleTimeout };
  if (
    protocol === undefined ||
    request.headers.get("sec-websocket-protocol")?.split(", ").includes(protocol)
  ) {
    return Deno.upgradeWebSocket(request, options);
  }
  const headers = withHeader(request.headers, "sec-websocket-protocol", protocol);
  const view = new Proxy(request, {
    get: (target, key) => key === "headers" ? headers : Reflect.get(target, key, target),
  });
  return Deno.upgradeWebSocket(view, options);
}

/** `headers` as they are, but for `name`, whose `get` answers `value`. */
function withHeader(headers: Headers, name: string, value: string): Headers {
  return new Proxy(headers, {
    get: (target, key) => {
      if (key === "get") {
        return (asked: string) => asked.toLowerCase() === name ? value : target.get(asked);
      }
      const member = Reflect.get(target, key, target);
      // Headers' methods check that they are called on a Headers, not on this view.
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

/** The device of a token, or null when the token is not (or no longer) valid. */
async function authenticate(devices: DeviceService, token: string): Promise<SocketIdentity | null> {
  try {
    const { deviceId, account } = await devices.authenticate(token);
    // The store's key of device tokens (DeviceService keeps only this).
    return { deviceId, account, tokenHash: sha256Hex(token) };
  } catch (error) {
    if (error instanceof AppError && error.code === "UNAUTHORIZED") return null;
    throw error;
  }
}
