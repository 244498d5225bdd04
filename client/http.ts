import { parseRetryAfter } from "./backoff.ts";
import { describe, NetworkError, SyncApiError } from "./errors.ts";
import { REAL_RUNTIME, type Runtime } from "./runtime.ts";

/** Where and how requests go. */
export interface HttpOptions {
  /** The service, e.g. `https://sync.example.com`. */
  baseUrl: string;
  /** Replaces the global `fetch` (a proxy, a test's offline switch). */
  fetch?: typeof fetch;
  /** A request not answered within this fails as a `NetworkError`. Default 30 s. */
  timeoutMs?: number;
  runtime?: Runtime;
}

export interface RequestOptions {
  token: string;
  body?: unknown;
  /** Aborting rejects with an `AbortError` (a stop, not a failure). */
  signal?: AbortSignal;
}

/**
 * One JSON request: the answer's body on 2xx (undefined for 204), a `SyncApiError` with the
 * contract's code and `Retry-After` otherwise, a `NetworkError` when nothing answered.
 */
export async function requestJson<T>(
  options: HttpOptions,
  method: string,
  path: string,
  { token, body, signal }: RequestOptions,
): Promise<T> {
  const runtime = options.runtime ?? REAL_RUNTIME;
  const timeout = new AbortController();
  const timer = runtime.setTimeout(() => timeout.abort(), options.timeoutMs ?? 30_000);
  const signals = signal ? [signal, timeout.signal] : [timeout.signal];
  let res: Response;
  let text: string;
  try {
    res = await (options.fetch ?? fetch)(new URL(path, options.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
    text = await res.text();
  } catch (error) {
    if (signal?.aborted) throw new DOMException("The request was aborted", "AbortError");
    if (timeout.signal.aborted) throw new NetworkError(`${method} ${path} timed out`);
    throw new NetworkError(`${method} ${path} failed: ${describe(error)}`);
  } finally {
    runtime.clearTimeout(timer);
  }
  if (res.ok) return (text ? JSON.parse(text) : undefined) as T;
  const error = parseError(text);
  throw new SyncApiError(
    res.status,
    error?.code ?? `HTTP_${res.status}`,
    error?.message ?? `${method} ${path} answered ${res.status}`,
    error?.details ?? {},
    parseRetryAfter(res.headers.get("retry-after"), runtime.now()),
  );
}

/** True for the `AbortError` a stopped request rejects with. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

function parseError(
  text: string,
): { code: string; message: string; details?: Record<string, unknown> } | null {
  try {
    const error = JSON.parse(text)?.error;
    return typeof error?.code === "string" && typeof error?.message === "string" ? error : null;
  } catch {
    return null;
  }
}
