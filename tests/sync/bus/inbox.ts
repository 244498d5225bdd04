/** Helpers shared by the bus tests. */
import type { Bus } from "../../../sync/bus/bus.ts";
import { eventually } from "../../support/eventually.ts";

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
      await eventually(() => messages.length >= count, timeoutMs, `${count} messages`);
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

/** A channel no other test run uses (the test Redis is shared). */
export function channelName(): string {
  return `test:${crypto.randomUUID()}`;
}
