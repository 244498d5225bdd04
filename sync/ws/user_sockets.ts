import type { SyncEvent } from "../events.ts";
import type { Connection } from "./connection.ts";
import type { HubContext } from "./hub_context.ts";
import { CachedPolicy } from "./policy.ts";

/** The sockets of one user on this instance and their shared bus subscription. */
export class UserSockets {
  readonly connections = new Set<Connection>();
  readonly policy: CachedPolicy;
  /** Events of a user are handled one after another, so sockets see them in bus order. */
  #events: Promise<void> = Promise.resolve();

  constructor(
    readonly userId: string,
    context: HubContext,
    /** Resolves true once the user's channel is subscribed, false when it cannot be. */
    readonly subscribed: Promise<boolean>,
  ) {
    this.policy = new CachedPolicy(context.store, userId, context.logger);
  }

  /** Whether `deviceId` has a socket here. */
  has(deviceId: string): boolean {
    for (const connection of this.connections) if (connection.deviceId === deviceId) return true;
    return false;
  }

  /** The devices with a socket here. */
  devices(): string[] {
    return [...new Set([...this.connections].map((c) => c.deviceId))];
  }

  /** Runs `work` for `event` after the user's earlier events. */
  enqueue(event: SyncEvent, work: (event: SyncEvent) => Promise<void>): Promise<void> {
    // A failed event must not hold up the ones after it; `work` reports its own failures.
    this.#events = this.#events.then(() => work(event)).catch(() => {});
    return this.#events;
  }
}
