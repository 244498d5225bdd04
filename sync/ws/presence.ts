import type { HubContext } from "./hub_context.ts";

/**
 * Which devices have a socket on this instance: `online` when a device's first socket here
 * opens, `offline` when its last one closes, and their `last_seen_at` refreshed on one
 * timer for the whole hub (10,000 sockets, one query a minute).
 */
export class Presence {
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly context: HubContext,
    private readonly touchEveryMs: number,
    /** The devices with a socket here now. */
    private readonly connected: () => string[],
  ) {}

  /** The device's first socket here opened. */
  arrived(userId: string, deviceId: string): void {
    this.#timer ??= setInterval(() => this.#touch(), this.touchEveryMs);
    void this.context.publish(userId, { type: "device", device_id: deviceId, status: "online" });
  }

  /** The device's last socket here closed. */
  departed(userId: string, deviceId: string): void {
    void this.context.publish(userId, { type: "device", device_id: deviceId, status: "offline" });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #touch(): void {
    const ids = this.connected();
    if (ids.length === 0) return this.stop();
    const { store, logger, track } = this.context;
    void track(
      store.touchDevices(ids).catch((error) =>
        logger.warn("Refreshing last_seen_at failed", { devices: ids.length, error })
      ),
    );
  }
}
