import type { MiddlewareHandler } from "hono";
import { AppError } from "../sync/errors.ts";
import type { AccountTokenVerifier } from "../sync/account_tokens.ts";
import { type DeviceService, isDeviceToken } from "../sync/device_service.ts";
import type { AppEnv } from "./env.ts";

export interface AuthDeps {
  accounts: AccountTokenVerifier;
  devices: DeviceService;
}

/**
 * Bearer authentication. `account` routes take an account JWT, `device` routes a device
 * token, `either` both (device management, so one device can sign another out).
 */
export function requireAuth(
  deps: AuthDeps,
  accepts: "account" | "device" | "either",
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (isDeviceToken(token)) {
      if (accepts === "account") {
        throw new AppError("UNAUTHORIZED", "This endpoint needs an account token");
      }
      const device = await deps.devices.authenticate(token);
      c.set("device", device);
      c.set("account", device.account);
    } else {
      if (accepts === "device") {
        throw new AppError("UNAUTHORIZED", "This endpoint needs a device token");
      }
      // Every verified account token is recorded: the newest one seen sets the account.
      c.set("account", await deps.devices.recordAccount(await deps.accounts.verify(token)));
    }
    await next();
  };
}

/** The token of an `Authorization: Bearer …` header. */
export function bearerToken(header: string | undefined): string {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match) throw new AppError("UNAUTHORIZED", "Missing Authorization: Bearer <token> header");
  return match[1];
}
