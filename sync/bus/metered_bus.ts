import type { Metrics } from "../metrics.ts";
import type { Bus } from "./bus.ts";

/**
 * Counts what passes through any bus: publishes, refused publishes and messages
 * delivered to this instance's subscriptions. Behaves exactly as the bus it wraps.
 * @example const bus = new MeteredBus(await openBus(config), metrics);
 */
export class MeteredBus implements Bus {
  constructor(
    private readonly bus: Bus,
    private readonly metrics: Pick<Metrics, "busPublished" | "busPublishErrors" | "busDelivered">,
  ) {}

  get kind(): Bus["kind"] {
    return this.bus.kind;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.metrics.busPublished();
    try {
      await this.bus.publish(channel, message);
    } catch (error) {
      this.metrics.busPublishErrors.inc();
      throw error;
    }
  }

  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    return this.bus.subscribe(channel, (message) => {
      this.metrics.busDelivered();
      onMessage(message);
    }, onResumed);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.bus.unsubscribe(channel);
  }

  ping(): Promise<boolean> {
    return this.bus.ping();
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}
