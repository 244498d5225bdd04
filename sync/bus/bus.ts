/**
 * Publish/subscribe over named channels: in-process, Redis over TCP, or Upstash over
 * REST. One handler per channel per instance; the WebSocket hub multiplexes sockets.
 */
export interface Bus {
  readonly kind: "memory" | "redis" | "redis-cluster" | "upstash";
  /** Resolves once the message is handed to the broker; rejects when it cannot be. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Resolves once the subscription is active; replaces an earlier handler. `onResumed`
   * runs each time the subscription is active again after the broker connection was lost
   * (where the adapter can tell): messages published in between were not delivered.
   */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** True when the broker answers now (for /ready). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
