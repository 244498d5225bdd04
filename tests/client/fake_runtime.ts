import type { Runtime, TimerId } from "../../client/runtime.ts";

/**
 * A manual clock for the client: timers fire only when the test advances time, so backoff
 * and ack pacing are checked without sleeping. `random` replays the given values.
 */
export class FakeRuntime implements Runtime {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();
  /** Every delay passed to setTimeout, in order. */
  readonly delays: number[] = [];

  constructor(start = 1_700_000_000_000, readonly randoms: number[] = [0.5]) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  random = (): number => this.randoms.length > 1 ? this.randoms.shift()! : this.randoms[0];

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.delays.push(ms);
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.#timers.delete(id);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock by `ms`, firing due timers in order, with real ticks between them. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    this.#now = until;
  }
}
