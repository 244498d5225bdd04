import { type HttpOptions, requestJson } from "./http.ts";
import type { DeviceView } from "./wire.ts";

export interface RegisterDeviceOptions extends HttpOptions {
  /** The user's account token (a JWT). */
  accountToken: string;
  name: string;
  platform: string;
  /**
   * Stable per installation: registering again with it returns the same device with a
   * new token (the old token stops working).
   */
  installId?: string;
  appVersion?: string;
}

/**
 * `POST /api/devices/register`: a device and its token, for `new SyncClient({ deviceToken })`.
 * @example
 * const { device, token } = await registerDevice({
 *   baseUrl, accountToken, name: "laptop", platform: "macos", installId: "laptop-1",
 * });
 */
export function registerDevice(
  options: RegisterDeviceOptions,
): Promise<{ device: DeviceView; token: string }> {
  return requestJson(options, "POST", "/api/devices/register", {
    token: options.accountToken,
    body: {
      name: options.name,
      platform: options.platform,
      ...(options.installId !== undefined && { install_id: options.installId }),
      ...(options.appVersion !== undefined && { app_version: options.appVersion }),
    },
  });
}
