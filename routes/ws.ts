import { Hono } from "hono";
import { AppError } from "../sync/errors.ts";
import type { DeviceService } from "../sync/device_service.ts";
import type { DeviceIdentity } from "../sync/sync_service.ts";
import { WS_BEARER_PREFIX, WS_PROTOCOL } from "../sync/ws/messages.ts";
import type { Hub } from "../sync/ws/hub.ts";
import type { AppEnv } from "./env.ts";

/**
 * `GET /api/sync/ws` (DESIGN.md §6). Mount it before the `/api/sync` routes: their auth
 * middleware wants an `Authorization` header, which browsers cannot set on a WebSocket.
 *
 * - Token: `Sec-WebSocket-Protocol: devpocket.sync.v1, bearer.<token>`, else `?token=`.
 * - Only `devpocket.sync.v1` is echoed, never the token entry. (`hono/deno`'s
 *   `upgradeWebSocket` echoes the first offered entry, which may be the token, hence
 *   `Deno.upgradeWebSocket` here.)
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
    const offered = (c.req.header("sec-websocket-protocol") ?? "")
      .split(",").map((p) => p.trim()).filter(Boolean);
    // A client that offers subprotocols fails the handshake unless one is echoed.
    if (offered.length > 0 && !offered.includes(WS_PROTOCOL)) {
      throw new AppError("VALIDATION_FAILED", `Sec-WebSocket-Protocol must offer ${WS_PROTOCOL}`, {
        fields: { "sec-websocket-protocol": `must include ${WS_PROTOCOL}` },
      });
    }
    const token = offered.find((p) => p.startsWith(WS_BEARER_PREFIX))
      ?.slice(WS_BEARER_PREFIX.length) ?? c.req.query("token");
    const device = token ? await authenticate(deps.devices, token) : null;
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, {
      ...(offered.length > 0 && { protocol: WS_PROTOCOL }),
      idleTimeout: deps.hub.idleTimeoutSeconds,
    });
    deps.hub.handle(socket, device);
    return response;
  });
}

/** The device of a token, or null when the token is not (or no longer) valid. */
async function authenticate(devices: DeviceService, token: string): Promise<DeviceIdentity | null> {
  try {
    const { deviceId, account } = await devices.authenticate(token);
    return { deviceId, account };
  } catch (error) {
    if (error instanceof AppError && error.code === "UNAUTHORIZED") return null;
    throw error;
  }
}
