import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { describe } from "./bus_failure.ts";
import type { BusLogger } from "./bus_logger.ts";
import { abortableSleep } from "../abortable_sleep.ts";

/** What one {@linkcode UpstashSubscription} needs. */
export interface UpstashSubscriptionOptions {
  /** The REST URL, e.g. `https://eu1-example.upstash.io`. */
  url: string;
  token: string;
  channel: string;
  onMessage: (message: string) => void;
  /** Runs at each confirmation after the first: messages sent while the stream was down were missed. */
  onResumed?: () => void;
  backoff: BackoffOptions;
  /** How long the service may take to confirm a SUBSCRIBE before the attempt fails. */
  confirmTimeoutMs: number;
  /**
   * A confirmed stream that delivers nothing for this long is taken as dead (half-open)
   * and opened again. Past half of it, {@link probe} is asked for a message.
   */
  readTimeoutMs: number;
  /** Publishes {@link KEEPALIVE_MESSAGE} on the channel, so a healthy stream carries something. */
  probe: () => Promise<unknown>;
  logger: BusLogger;
}

/**
 * What a quiet stream is probed with. Upstash sends nothing on an idle stream, so silence
 * alone cannot tell idle from half-open; the probe's echo can. Never delivered to a
 * handler (hub messages are JSON objects, so none is ever this text), and every instance
 * subscribed to the channel takes it as a sign of life.
 */
export const KEEPALIVE_MESSAGE = "devpocket:bus:keepalive";

/**
 * One channel subscribed over the Upstash REST API: `POST <url>/subscribe/<channel>`
 * with `Accept: text/event-stream`, answered by a server-sent event stream of
 * `data: subscribe,<channel>,<count>` (the confirmation) then
 * `data: message,<channel>,<message>` lines. That is the request @upstash/redis 1.39
 * makes in `redis.subscribe()`.
 *
 * It is done here rather than through `redis.subscribe()` because that client reads the
 * stream in a detached loop that ends silently (end of stream) or with a console.error
 * (a read error): its `Subscriber` never learns that the stream is gone, so a dropped
 * connection would stop delivery for good. Here an ended or failed stream is opened
 * again, with backoff, until `close()`.
 */
export class UpstashSubscription {
  /** The handler; replaced in place when the channel is subscribed again. */
  onMessage: (message: string) => void;
  /** Replaced in place, like `onMessage`. */
  onResumed: (() => void) | undefined;
  /** Resolves at the first confirmation; rejects if the first attempt fails. */
  readonly confirmed: Promise<void>;
  #options: UpstashSubscriptionOptions;
  #abort = new AbortController();
  #running: Promise<void>;
  #confirm!: () => void;
  #fail!: (error: unknown) => void;

  constructor(options: UpstashSubscriptionOptions) {
    this.#options = options;
    this.onMessage = options.onMessage;
    this.onResumed = options.onResumed;
    this.confirmed = new Promise<void>((resolve, reject) => {
      this.#confirm = resolve;
      this.#fail = reject;
    });
    // The caller awaits `confirmed`; this keeps a rejection nobody awaits from crashing.
    this.confirmed.catch(() => {});
    this.#running = this.#run();
  }

  /** Ends the stream and any pending retry; resolves when nothing is left running. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const { channel, logger } = this.#options;
    const signal = this.#abort.signal;
    let everConfirmed = false;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        await this.#stream(() => {
          attempt = 0;
          if (everConfirmed) this.onResumed?.();
          else this.#confirm();
          everConfirmed = true;
        });
        if (!everConfirmed) throw new Error(`Upstash ended the stream of "${channel}" unconfirmed`);
        if (!signal.aborted) logger.warn("Upstash event stream ended", { channel });
      } catch (error) {
        if (signal.aborted) break;
        if (!everConfirmed) {
          this.#fail(error);
          return;
        }
        logger.warn("Upstash event stream failed", { channel, error: describe(error) });
      }
      await abortableSleep(backoffDelay(attempt++, this.#options.backoff), signal);
    }
    // close() before the first confirmation: whoever waits for it must not wait forever.
    if (!everConfirmed) this.#fail(new Error(`Subscription to "${channel}" was closed`));
  }

  /** One stream, from request to end; `onConfirmed` runs at each confirmation. */
  async #stream(onConfirmed: () => void): Promise<void> {
    const { url, token, channel, confirmTimeoutMs, readTimeoutMs } = this.#options;
    const attempt = new AbortController();
    const timer = setTimeout(
      () =>
        attempt.abort(
          new Error(`Upstash did not confirm "${channel}" within ${confirmTimeoutMs} ms`),
        ),
      confirmTimeoutMs,
    );
    const quiet = new QuietWatch(readTimeoutMs, this.#options.probe, () =>
      attempt.abort(
        new Error(`Upstash sent nothing on "${channel}" for ${readTimeoutMs} ms: reconnecting`),
      ));
    const signal = AbortSignal.any([this.#abort.signal, attempt.signal]);
    try {
      const response = await fetch(`${url}/subscribe/${pathSegment(channel)}`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: "text/event-stream",
          "Content-Type": "application/json",
        },
        body: "[]",
        signal,
      });
      if (!response.ok || !response.body) {
        const body = await response.text();
        throw new Error(`Upstash subscribe to "${channel}" answered ${response.status}: ${body}`);
      }
      const lines = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        let buffer = "";
        while (true) {
          const { value, done } = await lines.read();
          if (done) return;
          quiet.heard();
          buffer += value;
          const complete = buffer.split("\n");
          buffer = complete.pop() ?? "";
          for (const line of complete) {
            const event = parseEvent(line.replace(/\r$/, ""), channel);
            if (event?.type === "subscribe") {
              clearTimeout(timer);
              quiet.start();
              onConfirmed();
            } else if (event?.type === "message") {
              this.#deliver(event.message);
            }
          }
        }
      } finally {
        await lines.cancel().catch(() => {});
      }
    } catch (error) {
      // An abort rejects with the abort reason or a bare AbortError; prefer the reason.
      throw attempt.signal.aborted ? attempt.signal.reason : error;
    } finally {
      clearTimeout(timer);
      await quiet.stop();
    }
  }

  #deliver(message: string): void {
    if (message === KEEPALIVE_MESSAGE) return;
    try {
      this.onMessage(message);
    } catch (error) {
      this.#options.logger.warn("Bus handler threw", {
        channel: this.#options.channel,
        error: describe(error),
      });
    }
  }
}

/**
 * Notices a confirmed stream that went quiet: probes it past half of `timeoutMs` without
 * a byte, and calls `onDead` once a whole `timeoutMs` passed without one.
 */
class QuietWatch {
  #heardAt = Date.now();
  #probedAt = -Infinity;
  #probing: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly probe: () => Promise<unknown>,
    private readonly onDead: () => void,
  ) {}

  start(): void {
    this.heard();
    this.#timer ??= setInterval(() => this.#check(), this.timeoutMs / 4);
  }

  heard(): void {
    this.#heardAt = Date.now();
  }

  /** Stops watching; resolves once a probe in flight settled. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#probing;
  }

  #check(): void {
    const silent = Date.now() - this.#heardAt;
    if (silent > this.timeoutMs) return this.onDead();
    if (silent > this.timeoutMs / 2 && this.#probedAt < this.#heardAt) {
      this.#probedAt = Date.now();
      // A failed probe changes nothing: the silence it leaves ends the stream.
      this.#probing = this.probe().catch(() => {});
    }
  }
}

type StreamEvent = { type: "subscribe" } | { type: "message"; message: string };

/** Parses one `data:` line of the stream; other lines (comments, keep-alives) are null. */
function parseEvent(line: string, channel: string): StreamEvent | null {
  if (!line.startsWith("data:")) return null;
  const data = line.slice(line.startsWith("data: ") ? 6 : 5);
  // Matching on the known channel, not on the first commas, keeps commas in names safe.
  if (data.startsWith(`subscribe,${channel},`)) return { type: "subscribe" };
  const prefix = `message,${channel},`;
  if (data.startsWith(prefix)) return { type: "message", message: data.slice(prefix.length) };
  return null;
}

/**
 * The channel as one path segment. Names of the usual `sync:user:<id>` shape come out
 * unchanged (the same URL @upstash/redis builds); `/`, `?`, `#`, `%` and the like are
 * percent-encoded so they cannot change the path.
 */
function pathSegment(channel: string): string {
  return encodeURIComponent(channel).replaceAll("%3A", ":").replaceAll("%40", "@");
}
