import type { Bus } from "./bus.ts";

/** The in-process bus of the embedded default: one instance, no broker. */
export class MemoryBus implements Bus {
  readonly kind = "memory";
  #handlers = new Map<string, (message: string) => void>();
  #closed = false;

  publish(channel: string, message: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("MemoryBus is closed"));
    const handler = this.#handlers.get(channel);
    // Delivered on a later tick, as a broker would: a publisher never runs subscriber code.
    if (handler) {
      queueMicrotask(() => {
        // A failing subscriber must not take the publisher (or the process) down.
        try {
          handler(message);
        } catch (error) {
          console.error(
            JSON.stringify({ level: "error", message: "Bus handler failed", error: String(error) }),
          );
        }
      });
    }
    return Promise.resolve();
  }

  subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("MemoryBus is closed"));
    this.#handlers.set(channel, onMessage);
    return Promise.resolve();
  }

  unsubscribe(channel: string): Promise<void> {
    this.#handlers.delete(channel);
    return Promise.resolve();
  }

  /** False once closed, as a broker that went away would answer. */
  ping(): Promise<boolean> {
    return Promise.resolve(!this.#closed);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#handlers.clear();
    return Promise.resolve();
  }
}
