export {
  ReplicationListener,
  type ReplicationListenerOptions,
  type ReplicationListenerState,
  type ReplicationLogger,
} from "./listener.ts";
export { decodeTransaction, type OwnerEvent, TransactionDecoder } from "./decode.ts";
export { publishCatchUp, publishEvents } from "./publisher.ts";
export {
  FAULT_KINDS,
  isFault,
  ReplicationError,
  type ReplicationErrorKind,
  shouldRetry,
  toReplicationError,
} from "./replication_error.ts";
export type { WalStatus } from "./slot.ts";
