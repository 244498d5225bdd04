/** What the two node-redis adapters (RedisBus, RedisClusterBus) share. */
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import { busFailure, describe } from "./bus_failure.ts";
import type { BusLogger } from "./bus_logger.ts";
import { settledWithin, TIMED_OUT } from "../time_limit.ts";

/** Options of both node-redis adapters' `connect`. */
export interface NodeRedisBusOptions {
  /** Receives connection errors the bus recovers from; silent by default. */
  logger?: BusLogger;
  /** Delays between reconnect attempts. */
  backoff?: Partial<BackoffOptions>;
  /** How long `connect` waits for Redis before it gives up (default 10 s). */
  connectTimeoutMs?: number;
}

interface Handler {
  onMessage: (message: string) => void;
  onResumed?: () => void;
}

/** A node-redis pub/sub listener: naming it again is how a channel is unsubscribed. */
export type Listener = (message: string) => void;

/**
 * The subscribed channels of a bus: each one's handler and its node-redis listener and
 * SUBSCRIBE. Handlers live here, not in node-redis, so they survive its reconnects; each
 * runs isolated: a throw is reported, never passed on (in a node-redis listener it would
 * unwind into the reply parser and reset it).
 */
export class ChannelSubscriptions {
  readonly #handlers = new Map<string, Handler>();
  readonly #subscribed = new Map<string, { listener: Listener; active: Promise<void> }>();

  /** `what` names the broker in messages, e.g. "Redis Cluster". */
  constructor(readonly logger: BusLogger, readonly what: string) {}

  /**
   * Sets the channel's handler (replacing an earlier one) and, unless it is subscribed
   * already, subscribes it with `send`; resolves once the subscription is active. When
   * `send` fails the channel is forgotten and the error names it.
   */
  async subscribe(
    channel: string,
    handler: Handler,
    send: (listener: Listener) => Promise<unknown>,
  ): Promise<void> {
    this.#handlers.set(channel, handler);
    const existing = this.#subscribed.get(channel);
    if (existing) return await existing.active;
    const listener: Listener = (message) => this.#deliver(channel, message);
    const active = Promise.try(() => send(listener)).then(() => {}, (error: unknown) => {
      if (this.#subscribed.get(channel)?.listener === listener) this.take(channel);
      throw busFailure(this.what, "subscribe", channel, error);
    });
    this.#subscribed.set(channel, { listener, active });
    await active;
  }

  /** Forgets the channel; its node-redis listener, for the UNSUBSCRIBE, if it had one. */
  take(channel: string): Listener | null {
    this.#handlers.delete(channel);
    const subscription = this.#subscribed.get(channel);
    this.#subscribed.delete(channel);
    return subscription?.listener ?? null;
  }

  clear(): void {
    this.#handlers.clear();
    this.#subscribed.clear();
  }

  /** Runs `onResumed` of every subscribed channel: they are active again after a loss. */
  resume(): void {
    for (const [channel, handler] of this.#handlers) {
      if (!handler.onResumed || !this.#subscribed.has(channel)) continue;
      try {
        handler.onResumed();
      } catch (error) {
        this.logger.warn("Bus resume handler threw", { channel, error: describe(error) });
      }
    }
  }

  #deliver(channel: string, message: string): void {
    const handler = this.#handlers.get(channel);
    if (!handler) return;
    try {
      handler.onMessage(message);
    } catch (error) {
      this.logger.warn("Bus handler threw", { channel, error: describe(error) });
    }
  }
}

/**
 * node-redis's reconnect strategy with this bus's backoff, remembering when the last sleep
 * it scheduled ends: node-redis cannot cancel that timer, so closing waits it out and
 * leaves nothing running.
 */
export class ReconnectClock {
  #until = 0;
  readonly #backoff: BackoffOptions;

  constructor(backoff: Partial<BackoffOptions> = {}) {
    this.#backoff = { ...DEFAULT_BACKOFF, ...backoff };
  }

  /** The delay before retry number `retries`, for node-redis's `reconnectStrategy`. */
  readonly strategy = (retries: number): number => {
    const delayMs = backoffDelay(retries, this.#backoff);
    this.#until = Math.max(this.#until, Date.now() + delayMs);
    return delayMs;
  };

  async settled(): Promise<void> {
    const remaining = this.#until - Date.now();
    if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining + 10));
  }
}

/**
 * Waits for `connected`; past `timeoutMs` rejects with `${where} did not answer within …`.
 * Either way `connected` counts as handled (settledWithin absorbs a late failure): after a
 * timeout the caller's close makes it reject, and nobody needs to hear that.
 */
export async function connectWithin(
  connected: Promise<unknown>,
  timeoutMs: number,
  where: string,
): Promise<void> {
  if (await settledWithin(connected, timeoutMs) === TIMED_OUT) {
    throw new Error(`${where} did not answer within ${timeoutMs} ms`);
  }
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparsable REDIS_URL>";
  }
}

/**
 * The command options of every node-redis client here: no timer per command. node-redis 6
 * arms a 5 s `AbortSignal.timeout` for each command, which bounds only its wait to be
 * written (with `disableOfflineQueue`, a tick at most) and is disarmed once it is, yet
 * still fires 5 s later and builds its TimeoutError: several timers and errors per push,
 * for nothing. A reply that never comes was never bounded by it.
 */
export const UNTIMED_COMMANDS = { timeout: 0 };
