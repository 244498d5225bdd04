/** Helpers shared by the bus tests. */
import type { Bus } from "../../../sync/bus/bus.ts";

/** Messages a handler received, and a way to wait for them. */
export interface Inbox {
  messages: string[];
  handler: (message: string) => void;
  /** Resolves once `count` messages arrived; rejects after `timeoutMs`. */
  until(count: number, timeoutMs?: number): Promise<string[]>;
}

/** A fresh inbox, not yet subscribed. */
export function inbox(): Inbox {
  const messages: string[] = [];
  return {
    messages,
    handler: (message) => messages.push(message),
    async until(count, timeoutMs = 5_000) {
      await waitFor(() => messages.length >= count, timeoutMs, `${count} messages`);
      return messages;
    },
  };
}

/** Subscribes a fresh inbox to `channel` on `bus`. */
export async function subscribed(bus: Bus, channel: string): Promise<Inbox> {
  const box = inbox();
  await bus.subscribe(channel, box.handler);
  return box;
}

/** Polls `condition` every 10 ms; rejects naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(10);
  }
}

/** Lets in-flight deliveries land before asserting that something did not arrive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A channel no other test run uses (the test Redis is shared). */
export function channelName(): string {
  return `test:${crypto.randomUUID()}`;
}
