/**
 * The DevPocket Sync client for Deno and browsers (fetch and WebSocket only).
 * @example
 * ```ts ignore
 * import { memoryStore, registerDevice, SyncClient } from "./client/mod.ts";
 * const { token } = await registerDevice({ baseUrl, accountToken, name: "laptop", platform: "macos" });
 * const client = new SyncClient({ baseUrl, deviceToken: token, store: memoryStore() });
 * await client.start();
 * client.put("settings", "ui", { theme: "dark" });
 * await client.flush();
 * ```
 * @module
 */
export * from "./sync_client.ts";
export * from "./sync_api.ts";
export * from "./sync_socket.ts";
export * from "./register_device.ts";
export * from "./errors.ts";
export * from "./backoff.ts";
export * from "./runtime.ts";
export type { ChangeEvent, Item } from "./local_state.ts";
export type { ClientStore, ItemRecord, QueuedChange, StoreState, StoreWrite } from "./store.ts";
export { memoryStore } from "./stores/memory_store.ts";
export { fileStore, type FileStoreOptions } from "./stores/file_store.ts";
export { indexedDbStore } from "./stores/indexed_db_store.ts";
export * from "./wire.ts";
