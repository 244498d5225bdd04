import type { Account } from "../sync/tiers.ts";
import type { DeviceIdentity } from "../sync/sync_service.ts";

/** What the auth middleware leaves for handlers. */
export interface AppEnv {
  Variables: {
    account: Account;
    /** Set when the request carried a device token. */
    device?: DeviceIdentity;
  };
}
