import { type HttpOptions, requestJson } from "./http.ts";
import type {
  ConflictView,
  DeviceView,
  PulledChange,
  PullResponse,
  PushResponse,
  Resolution,
  SyncStats,
  WireChange,
} from "./wire.ts";

/** Options of {@link SyncApi}: the service and a device token (or an account token). */
export interface SyncApiOptions extends HttpOptions {
  token: string;
}

/**
 * The HTTP endpoints of DESIGN.md §3, one method each, no retries (callers decide):
 * errors are `SyncApiError` (the contract's code, status, `Retry-After`) or `NetworkError`.
 * @example
 * const api = new SyncApi({ baseUrl: "http://localhost:8000", token: deviceToken });
 * const devices = await api.devices();
 */
export class SyncApi {
  constructor(readonly options: SyncApiOptions) {}

  push(changes: WireChange[], signal?: AbortSignal): Promise<PushResponse> {
    return this.#call("POST", "/api/sync/data", { changes }, signal);
  }

  pull(
    query: { since?: string | null; limit?: number; collections?: string[] },
    signal?: AbortSignal,
  ): Promise<PullResponse> {
    const params = new URLSearchParams();
    if (query.since) params.set("since", query.since);
    if (query.limit) params.set("limit", String(query.limit));
    if (query.collections) params.set("collections", query.collections.join(","));
    return this.#call("GET", `/api/sync/data?${params}`, undefined, signal);
  }

  async conflicts(status: "open" | "resolved" = "open"): Promise<ConflictView[]> {
    const body = await this.#call<{ conflicts: ConflictView[] }>(
      "GET",
      `/api/sync/conflicts?status=${status}`,
    );
    return body.conflicts;
  }

  /** Resolves a manual conflict; answers the item as it now is. */
  resolve(
    conflictId: string,
    choice: { resolution: Resolution; data?: Record<string, unknown>; remember?: boolean },
  ): Promise<PulledChange> {
    return this.#call(
      "POST",
      `/api/sync/conflicts/${encodeURIComponent(conflictId)}/resolve`,
      choice,
    );
  }

  async devices(): Promise<DeviceView[]> {
    return (await this.#call<{ devices: DeviceView[] }>("GET", "/api/devices")).devices;
  }

  deleteDevice(deviceId: string): Promise<void> {
    return this.#call("DELETE", `/api/devices/${encodeURIComponent(deviceId)}`);
  }

  stats(): Promise<SyncStats> {
    return this.#call("GET", "/api/sync/stats");
  }

  #call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return requestJson<T>(this.options, method, path, { token: this.options.token, body, signal });
  }
}
