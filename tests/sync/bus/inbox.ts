/** Helpers shared by the bus tests. */
import assert from "node:assert/strict";
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

/**
 * A handler that throws on one message: the adapter reports it to its logger (whose
 * warnings are `warnings`) and goes on delivering.
 */
export async function assertHandlerFailureIsolated(bus: Bus, warnings: string[]): Promise<void> {
  const channel = channelName();
  const received: string[] = [];
  await bus.subscribe(channel, (message) => {
    received.push(message);
    if (message === "bad") throw new Error("Handler bug");
  });
  await bus.publish(channel, "bad");
  await bus.publish(channel, "good");
  await eventually(() => received.length === 2, 5_000, "both messages");
  assert.deepEqual(received, ["bad", "good"]);
  assert.deepEqual(warnings, ["Bus handler threw"]);
}
