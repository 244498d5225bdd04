import { decodeSince, type Position, type Since } from "../cursor.ts";
import type { Metrics } from "../metrics.ts";
import type { DeviceIdentity } from "../sync_service.ts";
import { syncedTeam } from "../teams.ts";
import { type ServerMessage, WS_CLOSE } from "./messages.ts";

/** An authenticated device as its socket presented itself. */
export interface SocketIdentity extends DeviceIdentity {
  /**
   * The store's key of the token the socket used (DeviceService): a device registered
   * again gets a new token, and only the sockets of the old one must close.
   */
  tokenHash: string;
}

/** Limits of one socket. */
export interface ConnectionLimits {
  /** Bytes queued unsent before the socket is closed as a slow consumer. */
  maxBufferedBytes: number;
  /** Client messages per minute before the socket is closed with 4429. */
  maxMessagesPerMinute: number;
  /** Counts what is sent. */
  meter?: SocketMeter;
}

/** The socket metrics the hub records. */
export type SocketMeter = Pick<Metrics, "socketMessage" | "socketClosed" | "rateLimited">;

/**
 * A message as it goes out, ready for every socket of one team: the hub sends one event's
 * message to all of a user's sockets, and serializes it once for them.
 */
export interface Outgoing {
  type: ServerMessage["type"];
  text: string;
  /** The position a hint tells of, as the socket's team reads its cursor; null for others. */
  hinted: Since | null;
}

/** `message` as it goes out to the sockets of `team` (a `syncedTeam`, or null). */
export function outgoing(message: ServerMessage, team: string | null): Outgoing {
  return {
    type: message.type,
    text: JSON.stringify(message),
    hinted: message.type === "sync_data_available" ? decodeSince(message.cursor, team) : null,
  };
}

/**
 * One open socket of an authenticated device: what the hub knows of it, and the only way
 * it writes to it (bounded buffer, cursor bookkeeping).
 */
export class Connection {
  readonly userId: string;
  readonly deviceId: string;
  readonly tokenHash: string;
  /**
   * The team whose items this socket receives (sync/teams.ts `syncedTeam`), as it stood when
   * the socket opened; a socket whose user's team changed is asked to reconnect.
   */
  readonly team: string | null;
  /** True once live events flow and the device is known to still hold its token. */
  ready: Promise<boolean> = Promise.resolve(false);
  /** Its token stopped working: no `offline` is announced when it closes. */
  revoked = false;
  /**
   * The newest position the device is known to have or to have been told of (its `hello`,
   * its acks, the hints sent to it); null before any. Catch-up after a gap starts here.
   */
  cursor: Since | null = null;
  /** The part of `cursor` the server checked or issued (see `noteCursor`). */
  #checked: Since | null = null;
  /** A long catch-up in progress: reported as `sync_progress` on each ack until done. */
  catchingUp: { since: Position; target: Position } | null = null;
  #inbox: Promise<void> = Promise.resolve();
  #window = { start: Date.now(), count: 0 };

  constructor(
    readonly socket: WebSocket,
    who: SocketIdentity,
    private readonly limits: ConnectionLimits,
  ) {
    this.userId = who.account.userId;
    this.deviceId = who.deviceId;
    this.tokenHash = who.tokenHash;
    this.team = syncedTeam(who.account);
  }

  /** Runs `work` after everything queued before it, so replies keep request order. */
  enqueue(work: () => Promise<void>): Promise<void> {
    // A failed step must not keep the ones after it from running.
    this.#inbox = this.#inbox.then(work).catch(() => {});
    return this.#inbox;
  }

  /** Counts one client message; false once the socket is over its budget for the minute. */
  withinRate(now = Date.now()): boolean {
    if (now - this.#window.start >= 60_000) this.#window = { start: now, count: 0 };
    return ++this.#window.count <= this.limits.maxMessagesPerMinute;
  }

  /**
   * Moves the cursor forward (never back). `checked`: the server checked the position against
   * the heads (a `hello`) or issued it (a hint); only such positions silence live hints, as
   * an ack is never checked and one past the heads must not leave the device deaf to them.
   */
  noteCursor(next: Since, { checked = false } = {}): void {
    this.cursor = furthest(this.cursor, next);
    if (checked) this.#checked = furthest(this.#checked, next);
  }

  /** Writes `message` (see {@link write}). */
  send(message: ServerMessage, options: { live?: boolean } = {}): void {
    this.write(outgoing(message, this.team), options);
  }

  /**
   * Writes a message built for this socket's team. A `live` hint (a bus event's, not an
   * answer to `hello`) of changes the device already holds or was already told of is
   * dropped: the event of a change committed just before a `hello` often reaches this
   * instance after it.
   */
  write(out: Outgoing, { live = false } = {}): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (live && out.hinted !== null && this.#covers(out.hinted)) return;
    // must: never queue without bound for a socket that reads slower than events arrive;
    // it reconnects and resumes from its cursor, losing nothing.
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      return this.close(WS_CLOSE.slowConsumer, "Too far behind: reconnect");
    }
    try {
      this.socket.send(out.text);
      this.limits.meter?.socketMessage("out", out.type);
    } catch {
      // Closed between the check and the send: nothing to deliver to.
      return;
    }
    if (out.hinted !== null) this.noteCursor(out.hinted, { checked: true });
  }

  #covers(at: Since): boolean {
    const known = this.#checked;
    if (known === null || known.expired || at.expired) return false;
    return at.user <= known.user && at.team <= known.team;
  }

  close(code: number, reason: string): void {
    const { readyState } = this.socket;
    if (readyState === WebSocket.OPEN || readyState === WebSocket.CONNECTING) {
      this.socket.close(code, reason);
    }
  }

  /**
   * The team its user's devices sync changed: 1012, so the device reconnects (subscribing to
   * its new team's channel) and its `hello` is answered with a hint to pull, which answers 410.
   */
  reconnect(): void {
    this.close(WS_CLOSE.restarting, "Team changed: reconnect");
  }

  /** Its token no longer works (device deleted, or registered again): 4401. */
  revoke(): void {
    this.revoked = true;
    this.close(WS_CLOSE.unauthorized, "Device removed or token replaced");
  }
}

/**
 * The further of two positions, each stream on its own. A cursor of another team
 * (`expired`) says only that the device must resync: any current one replaces it, and it
 * replaces none.
 */
function furthest(known: Since | null, next: Since): Since {
  if (known === null || known.expired) return next;
  if (next.expired) return known;
  // Positions are never mutated, so one at or past the other is kept as it is: a fan-out
  // moves every socket's cursor, twice, per event.
  if (next.user >= known.user && next.team >= known.team) return next;
  if (known.user >= next.user && known.team >= next.team) return known;
  return {
    user: Math.max(known.user, next.user),
    team: Math.max(known.team, next.team),
    expired: false,
  };
}
