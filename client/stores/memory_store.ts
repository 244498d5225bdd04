import { type ClientStore, StoreImage } from "../store.ts";

/**
 * Keeps the state in this process only. A new client given the same store picks up where
 * the last one stopped (a "restart" within one process); nothing survives the process.
 * Values are copied in and out, so no caller shares objects with it.
 */
export function memoryStore(): ClientStore {
  const image = new StoreImage();
  return {
    load: () => Promise.resolve(structuredClone(image.state())),
    write(write) {
      image.apply(structuredClone(write));
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
