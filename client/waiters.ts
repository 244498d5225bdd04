/**
 * Promises waiting for a number to be reached (a queue position answered, a pull started
 * after the call), settled together once what they wait for is stored.
 */
export class Waiters {
  #list: { until: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  /** A promise for `until`; the caller settles it through `settle`. */
  add(until: number): Promise<void> {
    return new Promise((resolve, reject) => this.#list.push({ until, resolve, reject }));
  }

  /**
   * Settles the waiters whose `until` passes `done`, once `after` resolved (the store
   * holds what they waited for): with `error` when given.
   */
  settle(done: (until: number) => boolean, after: Promise<void>, error?: Error): void {
    const ready = this.#list.filter((w) => done(w.until));
    if (ready.length === 0) return;
    this.#list = this.#list.filter((w) => !ready.includes(w));
    void after.then(() => {
      for (const w of ready) error ? w.reject(error) : w.resolve();
    });
  }

  rejectAll(error: Error): void {
    for (const w of this.#list.splice(0)) w.reject(error);
  }
}
