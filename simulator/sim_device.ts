import { memoryStore } from "../client/stores/memory_store.ts";
import { fileStore } from "../client/stores/file_store.ts";
import type { ClientStore } from "../client/store.ts";
import { type ConflictEvent, SyncClient, type SyncClientOptions } from "../client/sync_client.ts";
import type { Behaviour } from "./behaviour.ts";
import { NetworkLink } from "./network_link.ts";

/** What one device observed, for the report. */
export interface DeviceCounters {
  conflictsResolved: number;
  rejected: number;
  restarts: number;
  offlinePeriods: number;
  offlineMs: number;
}

/** One simulated device: its store, its network, its person, and the client it restarts. */
export class SimDevice {
  client: SyncClient;
  readonly link: NetworkLink;
  readonly store: ClientStore;
  readonly counters: DeviceCounters = {
    conflictsResolved: 0,
    rejected: 0,
    restarts: 0,
    offlinePeriods: 0,
    offlineMs: 0,
  };

  constructor(
    readonly name: string,
    readonly user: number,
    readonly behaviour: Behaviour,
    readonly options: {
      baseUrl: string;
      token: string;
      storePath?: string;
      client?: Partial<SyncClientOptions>;
      observe?: ConstructorParameters<typeof NetworkLink>[0];
    },
  ) {
    this.link = new NetworkLink(options.observe);
    this.store = options.storePath
      ? fileStore(options.storePath, { durable: false })
      : memoryStore();
    this.client = this.#newClient();
  }

  start(): Promise<void> {
    return this.client.start();
  }

  /** The app is closed and opened again: a new client on the same store. */
  async restart(): Promise<void> {
    this.counters.restarts++;
    await this.client.stop();
    this.client = this.#newClient();
    await this.client.start();
  }

  /** Loses the network for `ms`, then gets it back and tells the client at once. */
  async offlineFor(ms: number): Promise<void> {
    this.counters.offlinePeriods++;
    this.counters.offlineMs += ms;
    this.link.goOffline();
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.online();
  }

  online(): void {
    if (this.link.online) return;
    this.link.goOnline();
    this.client.wake();
  }

  #newClient(): SyncClient {
    const client = new SyncClient({
      baseUrl: this.options.baseUrl,
      deviceToken: this.options.token,
      store: this.store,
      fetch: this.link.fetch,
      webSocket: this.link.webSocket,
      ...this.options.client,
    });
    client.on("conflict", (event) => void this.#resolve(event));
    client.on("rejected", () => this.counters.rejected++);
    return client;
  }

  /** A person picks a side, or combines both; another device may have been quicker. */
  async #resolve(event: ConflictEvent): Promise<void> {
    const roll = this.behaviour.random();
    const { local, remote } = event.conflict;
    try {
      if (roll < 0.4) await event.keepLocal();
      else if (roll < 0.8 || !local.data || !remote.data) await event.keepRemote();
      else await event.merge({ ...remote.data, ...local.data });
      this.counters.conflictsResolved++;
    } catch {
      // Resolved elsewhere first (409), or offline: it stays open, which is a valid end state.
    }
  }
}
