import type { Bus } from "../bus/bus.ts";

/**
 * Subscribe and unsubscribe of each bus channel, run one after another. Without this, a
 * user who reconnects while the last socket's unsubscribe is still in flight could end up
 * unsubscribed with a socket open.
 */
export class WsSubscriptions {
  readonly #ops = new Map<string, Promise<unknown>>();

  constructor(private readonly bus: Bus) {}

  /**
   * Resolves once the channel is subscribed; rejects when the broker refuses. `onResumed`
   * as in {@linkcode Bus.subscribe}.
   */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    return this.#queue(channel, () => this.bus.subscribe(channel, onMessage, onResumed));
  }

  unsubscribe(channel: string): Promise<void> {
    return this.#queue(channel, () => this.bus.unsubscribe(channel));
  }

  #queue(channel: string, op: () => Promise<void>): Promise<void> {
    // An earlier failure must not block later operations on the same channel.
    const run = (this.#ops.get(channel) ?? Promise.resolve()).catch(() => {}).then(op);
    this.#ops.set(channel, run);
    const forget = () => {
      if (this.#ops.get(channel) === run) this.#ops.delete(channel);
    };
    run.then(forget, forget);
    return run;
  }
}
