import type { Runtime, TimerId } from "./runtime.ts";

/**
 * Acknowledges the newest applied cursor at most once per interval (the socket has a
 * message budget): a burst of pulls costs one ack now and one when the interval ends.
 */
export class AckPacer {
  #acked: string | null = null;
  #at = -Infinity;
  #timer: TimerId | null = null;

  constructor(
    readonly runtime: Runtime,
    readonly intervalMs: number,
    /** The cursor to acknowledge now (null: nothing), and a send that says if it went out. */
    readonly current: () => string | null,
    readonly send: (cursor: string) => boolean,
  ) {}

  /** Acknowledges the current cursor now or when the interval allows. */
  offer(): void {
    const cursor = this.current();
    if (!cursor || cursor === this.#acked || this.#timer !== null) return;
    const wait = this.#at + this.intervalMs - this.runtime.now();
    if (wait > 0) {
      this.#timer = this.runtime.setTimeout(() => {
        this.#timer = null;
        this.offer();
      }, wait);
      return;
    }
    if (this.send(cursor)) {
      this.#acked = cursor;
      this.#at = this.runtime.now();
    }
  }

  /** A new connection knows nothing yet: the next offer acknowledges again. */
  reset(): void {
    this.#acked = null;
  }

  stop(): void {
    if (this.#timer !== null) this.runtime.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
