/**
 * The work sockets and events started, which shutdown waits for even once the socket that
 * started it is gone, so the store and the bus can be closed after it.
 */
export class WorkTracker {
  readonly #inFlight = new Set<Promise<unknown>>();

  /** Registers `work` (which must handle its own failures) and returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const done = () => this.#inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  /** Resolves once nothing is in flight, including work started while it waits. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled(this.#inFlight);
  }
}
