/** A small typed event emitter; a handler that throws never breaks the emitter's caller. */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  readonly #handlers = new Map<keyof Events, Set<(event: never) => void>>();

  /** Calls `handler` for every `event`; returns the function that stops it. */
  on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, set = new Set());
    set.add(handler as (event: never) => void);
    return () => set.delete(handler as (event: never) => void);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const handler of this.#handlers.get(event) ?? []) {
      try {
        (handler as (payload: Events[K]) => void)(payload);
      } catch (error) {
        // The app's bug must not stop sync; it still deserves to be seen.
        console.error(`A "${String(event)}" handler threw:`, error);
      }
    }
  }
}
