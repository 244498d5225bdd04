/** What a `SyncClient` tells the app: its events and their payloads. */
import type { ChangeEvent } from "./local_state.ts";
import type { QueuedChange } from "./store.ts";
import type { ConflictView, Resolution, WireError } from "./wire.ts";

/**
 * - `starting`: loading, first pull on its way; `online`: the service answered last;
 * - `offline`: the last request failed and is being retried (`retryInMs`);
 * - `expired`: the subscription expired: pushes wait (the queue is kept), pulls go on;
 * - `unauthorized`: the token is invalid or the device was removed: the client stopped;
 * - `stopped`.
 */
export type ClientState =
  | "starting"
  | "online"
  | "offline"
  | "expired"
  | "unauthorized"
  | "stopped";

export interface StatusEvent {
  state: ClientState;
  socket: "open" | "closed";
  /** Changes waiting for the server's answer. */
  queued: number;
  error?: string;
  retryInMs?: number;
}

/** A manual conflict (strategy `manual`) on an item, with ways to settle it. */
export interface ConflictEvent {
  conflict: ConflictView;
  resolve(resolution: Resolution, options?: ResolveOptions): Promise<void>;
  keepLocal(options?: ResolveOptions): Promise<void>;
  keepRemote(options?: ResolveOptions): Promise<void>;
  merge(data: Record<string, unknown>, options?: ResolveOptions): Promise<void>;
}

export interface ResolveOptions {
  data?: Record<string, unknown>;
  /** Store the choice as this user's strategy for the collection. */
  remember?: boolean;
}

/** A change the server refused; it was dropped and its item went back to the server's copy. */
export interface RejectedEvent {
  change: QueuedChange;
  error: WireError;
}

export interface SyncClientEvents {
  change: ChangeEvent;
  conflict: ConflictEvent;
  rejected: RejectedEvent;
  status: StatusEvent;
}

/** The helpers of a `conflict` event around one `resolve` function. */
export function conflictEvent(
  conflict: ConflictView,
  resolve: (resolution: Resolution, options?: ResolveOptions) => Promise<void>,
): ConflictEvent {
  return {
    conflict,
    resolve,
    keepLocal: (options) => resolve("local", options),
    keepRemote: (options) => resolve("remote", options),
    merge: (data, options) => resolve("merged", { ...options, data }),
  };
}
