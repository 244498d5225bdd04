import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import type { Bus } from "../bus/bus.ts";
import { TransactionDecoder } from "./decode.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { publishEvents } from "./publisher.ts";
import { ReplicationError, toReplicationError } from "./replication_error.ts";
import type { SessionConfig } from "./session.ts";

/** Transactions published but not yet confirmed before the stream pauses for the bus. */
const MAX_UNCONFIRMED = 256;
/**
 * Coalescing window for standby status updates. Each one is a write to the walsender and
 * a wakeup of it; confirming later only keeps WAL a little longer (and a crash replays a
 * little more: hints are at-least-once anyway).
 */
const ACK_EVERY_MS = 50;

/** One streaming session on the slot: options and progress hooks. */
export interface StreamSlotOptions {
  /** The replication connection (sessionConfig). */
  session: SessionConfig;
  /** Slot and publication name. */
  slot: string;
  bus: Bus;
  /** The slot's confirmed_flush_lsn when the session starts: what keepalive replies
   * confirm until the session publishes something. */
  confirmedLsn: bigint;
  /** Aborting ends the session cleanly (returns null). */
  signal: AbortSignal;
  /**
   * Asked before each transaction is published or confirmed: false ends the session with
   * `lock_lost` and nothing more is published (another instance may hold the slot now).
   */
  stillHolder: () => Promise<boolean>;
  /**
   * A started stream from which nothing (data or keepalive) arrived for this long, while
   * no message was being handled, is taken as dead and ends with `connection_lost`.
   */
  silenceMs: number;
  /** START_REPLICATION was accepted. */
  onStarted?: () => void;
  /** A transaction committed at `commitTimeMs` is being published. */
  onBegin?: (commitTimeMs: number) => void;
  /** Everything before `lsn` was published, and the server was told so. */
  onConfirmed?: (lsn: bigint) => void;
}

interface ParseFailure {
  tag: "parse_failure";
  error: unknown;
}

/**
 * Streams the slot from its confirmed_flush_lsn until the stream fails or `signal`
 * aborts; resolves with the failure (null on abort). It never throws, and never
 * confirms an LSN past a transaction whose events were not all published: after a
 * failed publish the session ends, and the next one replays from the slot.
 */
export async function streamSlot(options: StreamSlotOptions): Promise<ReplicationError | null> {
  if (options.signal.aborted) return null;
  const service = new GuardedReplicationService(
    options.session,
    {
      // auto would ack each message on receipt, before it is published; the timer
      // (timeoutSeconds) acks the last *received* LSN even with auto off. Both stay off:
      // this session confirms by hand.
      acknowledge: { auto: false, timeoutSeconds: 0 },
      // Pauses the socket while a handler runs: memory stays bounded when the bus lags.
      flowControl: { enabled: true },
    },
  );
  const plugin = new GuardedPgoutputPlugin({
    protoVersion: 1,
    publicationNames: [options.slot],
    messages: true,
  });

  let failure: ReplicationError | null = null;
  const ended = Promise.withResolvers<void>();
  const fail = (error: unknown) => {
    if (failure === null && !options.signal.aborted) failure = toReplicationError(error);
    ended.resolve();
  };
  let confirmed = options.confirmedLsn;
  // The library adds 1 to what it is given ("last byte + 1"); `confirmed` already is the
  // first byte not yet done (a commit's end LSN), so hand it one less.
  const sendConfirmed = () =>
    confirmed > 0n ? service.acknowledge(formatLsn(confirmed - 1n)) : Promise.resolve(false);
  // Confirmations are coalesced: one status update per few ms, not one per transaction.
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  const flushConfirmed = async () => {
    ackTimer = undefined;
    if (await sendConfirmed()) options.onConfirmed?.(confirmed);
  };
  const advance = (lsn: bigint) => {
    confirmed = max(confirmed, lsn);
    ackTimer ??= setTimeout(() => void flushConfirmed().catch(fail), ACK_EVERY_MS);
  };
  let tx: TransactionDecoder | null = null;
  let handling: Promise<void> = Promise.resolve();
  // Transactions publish concurrently (a Redis client pipelines them) but confirm in
  // commit order through this chain; once a link rejects, no later link runs.
  let published: Promise<void> = Promise.resolve();
  let unconfirmed = 0;
  const confirmInOrder = (publishing: Promise<void>, lsn: bigint) => {
    publishing.catch(() => {}); // Observed through the chain; this only silences the early rejection.
    unconfirmed++;
    published = published.then(async () => {
      await publishing;
      unconfirmed--;
      // must: ack only after every event up to this LSN was published
      advance(lsn);
    });
    published.catch(fail);
  };

  // must: publish and confirm only while this instance holds the slot. A holder that was
  // frozen or cut off may have been replaced; what it received meanwhile (still buffered
  // in its socket) is the new holder's to publish, and publishing it late would repeat
  // old hints after newer ones.
  const admitted = async (): Promise<boolean> => {
    if (await options.stillHolder()) return true;
    fail(new ReplicationError("lock_lost", "This instance no longer holds the slot's lock"));
    return false;
  };

  const handle = async (message: Pgoutput.Message | ParseFailure): Promise<void> => {
    switch (message.tag) {
      case "parse_failure":
        return fail(
          new ReplicationError("decode_failed", "A pgoutput message could not be parsed", {
            cause: message.error,
          }),
        );
      case "begin":
        tx = new TransactionDecoder();
        options.onBegin?.(Number(message.commitTime.valueOf() as bigint / 1000n));
        return;
      case "commit": {
        const events = tx?.events() ?? [];
        tx = null;
        if (!(await admitted())) return;
        // A publish failure is not rethrown: with flowControl the library would log it
        // and go on. It rejects the chain instead, which ends the session unconfirmed.
        confirmInOrder(publishEvents(options.bus, events), parseLsn(message.commitEndLsn!));
        // Bounds memory while the bus lags: flowControl pauses the stream while this waits.
        if (unconfirmed >= MAX_UNCONFIRMED) await published.catch(() => {});
        return;
      }
      case "message":
        // Protocol 1 sends a transaction whole at its commit, so a non-transactional
        // message (the heartbeat) arrives between transactions: everything before it
        // was handled above, and confirming it releases WAL on an idle schema.
        if (!message.transactional && message.messageLsn && tx === null) {
          if (!(await admitted())) return;
          confirmInOrder(Promise.resolve(), parseLsn(message.messageLsn));
        } else tx?.add(message);
        return;
      default:
        tx?.add(message);
    }
  };

  // The server sends a keepalive at least every wal_sender_timeout / 2 and the holder a
  // heartbeat message every heartbeat: silence means the connection is gone without a word.
  let heardAt: number | null = null;
  let busy = 0;
  const watchdog = setInterval(() => {
    if (heardAt !== null && busy === 0 && Date.now() - heardAt > options.silenceMs) {
      fail(
        new ReplicationError(
          "connection_lost",
          `The replication stream was silent for ${options.silenceMs} ms`,
        ),
      );
    }
  }, options.silenceMs / 3);

  service.on("error", fail);
  service.on("start", () => {
    heardAt = Date.now();
    options.onStarted?.();
  });
  service.on("heartbeat", (_lsn: string, _time: number, shouldRespond: boolean) => {
    heardAt = Date.now();
    // The server's keepalive LSN is how far it has *sent*; answer with what was published.
    if (shouldRespond && failure === null) void sendConfirmed();
  });
  service.on("data", (_lsn: string, message: Pgoutput.Message | ParseFailure) => {
    heardAt = Date.now();
    // Never handle (and so never confirm) anything after a failure in this session.
    if (failure !== null || options.signal.aborted) return;
    busy++;
    handling = handle(message).finally(() => {
      busy--;
      heardAt = Date.now();
    });
    return handling;
  });
  const onAbort = () => ended.resolve();
  options.signal.addEventListener("abort", onAbort);
  // "0/0" makes the server resume from the slot's confirmed_flush_lsn; the library
  // would otherwise restart from the last LSN it *received*, skipping unpublished work.
  const subscribed = service.subscribe(plugin, options.slot, "0/0").then(
    () => fail(new ReplicationError("connection_lost", "The replication stream ended")),
    fail,
  );
  try {
    await ended.promise;
  } finally {
    clearInterval(watchdog);
    options.signal.removeEventListener("abort", onAbort);
    await Promise.all([handling.catch(() => {}), published.catch(() => {})]);
    clearTimeout(ackTimer);
    // `confirmed` only ever covers published transactions, so even after a failure what
    // it holds is confirmed now rather than replayed by the next session.
    if (ackTimer !== undefined && (await sendConfirmed().catch(() => false))) {
      options.onConfirmed?.(confirmed);
    }
    await service.destroy().catch(() => {});
    await subscribed;
  }
  return failure;
}

/**
 * pg-logical-replication listens to its pg client's errors only from after the client has
 * connected until it asks the client to end; pg throws an 'error' event nobody listens to
 * from its socket handler, out of every promise, and the process dies. The server's FATAL
 * can come in either gap: in the same read as the ReadyForQuery that ends the connect, or
 * as it ends a session being closed. So every client the service makes listens from the
 * moment it is made, and for good: the library reports the session's failure anyway, or
 * the stream has already stopped.
 */
class GuardedReplicationService extends LogicalReplicationService {
  constructor(...args: ConstructorParameters<typeof LogicalReplicationService>) {
    super(...args);
    let current: Listening | null = null;
    // The library keeps its client in `_client`: each one it makes passes through here, and
    // the one it drops too, just after it removed every listener of it.
    Object.defineProperty(this, "_client", {
      get: () => current,
      set: (client: Listening | null) => {
        for (const each of [current, client]) each?.on("error", () => {});
        current = client;
      },
    });
  }
}

interface Listening {
  on(event: "error", listener: () => void): void;
}

/**
 * The library parses inside pg's socket listener, where a throw would escape every
 * handler; a bad message becomes a `parse_failure` the session can fail on instead.
 */
class GuardedPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Parameters<PgoutputPlugin["parse"]>[0]): Pgoutput.Message {
    try {
      return super.parse(buffer);
    } catch (error) {
      return { tag: "parse_failure", error } satisfies ParseFailure as unknown as Pgoutput.Message;
    }
  }
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
