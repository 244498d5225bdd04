/**
 * A sync client over real HTTP on loopback, as a device sees the service: registering,
 * pushing, pulling from scratch, raw bytes on the wire, and the service's RSS.
 */
import { mintAccountToken } from "../../sync/account_tokens.ts";
import { command } from "../../tests/support/changes.ts";
import { BENCH_SECRET } from "./api_service.ts";

/** Registers device `name` of pro user `userId`; returns its device token. */
export async function register(baseUrl: string, userId: string, name: string): Promise<string> {
  const account = await mintAccountToken(BENCH_SECRET, {
    userId,
    tier: "pro",
    expiresInSeconds: 3600,
  });
  const res = await fetch(`${baseUrl}/api/devices/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${account}`, "content-type": "application/json" },
    body: JSON.stringify({ name, platform: "ios" }),
  });
  if (res.status !== 201) throw new Error(`Registering ${name} failed: ${res.status}`);
  return (await res.json()).token;
}

/** Pushes `count` new commands in one request; returns the batch's cursor. */
export async function push(baseUrl: string, token: string, count = 1): Promise<string> {
  const changes = Array.from({ length: count }, () => command(`bench ${crypto.randomUUID()}`));
  const res = await fetch(`${baseUrl}/api/sync/data`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ changes }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`Push failed: ${res.status} ${JSON.stringify(body)}`);
  return body.cursor;
}

/** Pushes `total` changes in batches of `batch`, `concurrency` requests in flight. */
export async function pushMany(
  baseUrl: string,
  token: string,
  total: number,
  batch: number,
  concurrency = 4,
): Promise<void> {
  let left = Math.ceil(total / batch);
  const worker = async () => {
    while (left-- > 0) await push(baseUrl, token, batch);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Every page of a pull from scratch (pages of 1,000): the URLs and how many changes came.
 * `acceptEncoding` replaces what fetch sends by default (`gzip, br`; fetch decodes it).
 */
export async function pullFromScratch(
  baseUrl: string,
  token: string,
  acceptEncoding?: "identity",
): Promise<{ pages: string[]; changes: number }> {
  const pages: string[] = [];
  let changes = 0;
  let cursor = "";
  for (;;) {
    const url = `${baseUrl}/api/sync/data?limit=1000${cursor ? `&since=${cursor}` : ""}`;
    pages.push(url);
    const res = await fetch(url, {
      headers: {
        authorization: `Bearer ${token}`,
        ...(acceptEncoding && { "accept-encoding": acceptEncoding }),
      },
    });
    if (res.status !== 200) throw new Error(`Pull failed: ${res.status} ${await res.text()}`);
    const page = await res.json();
    changes += page.changes.length;
    cursor = page.cursor;
    if (!page.has_more) return { pages, changes };
  }
}

/**
 * GETs `url` over a fresh TCP connection (`Connection: close`) and counts every byte the
 * server sent, head and body as they crossed the socket: fetch would decode a compressed
 * body. Also returns the answer's Content-Encoding ("identity" without one).
 */
export async function bytesOnWire(
  url: string,
  headers: Record<string, string>,
): Promise<{ bytes: number; encoding: string; status: number }> {
  const target = new URL(url);
  const conn = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
  try {
    const head = [
      `GET ${target.pathname}${target.search} HTTP/1.1`,
      `Host: ${target.host}`,
      "Connection: close",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(head));
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      bytes += n;
      if (chunks.length === 0 || bytes < 8192) chunks.push(buf.slice(0, n));
    }
    const start = new TextDecoder().decode(concat(chunks)).split("\r\n\r\n")[0];
    const status = Number(start.split(" ")[1]);
    const encoding = /^content-encoding:\s*(\S+)/im.exec(start)?.[1] ?? "identity";
    return { bytes, encoding, status };
  } finally {
    conn.close();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Two of the service's memory looks (MEMORY_TRIM_SECONDS is 1) and a margin: under load it
 * keeps up to 16 MB of freed memory untrimmed, and gives it back at the first quiet look
 * (sync/memory_trim.ts). Read before that, the RSS counts what is about to go, not what stays.
 */
export const QUIET_MS = 2_500;

/**
 * Resident set size of process `pid` in MB, from /proc/<pid>/status: now (VmRSS), or the
 * most it has been (VmHWM: the kernel's, so no sample misses a peak).
 */
export async function rssMb(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1];
  if (!kb) throw new Error(`No ${field} in /proc/${pid}/status`);
  return Number(kb) / 1024;
}

/** Samples `rssMb(pid)` every `everyMs` until stopped; `stop()` returns the samples. */
export function sampleRss(pid: number, everyMs: number): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      samples.push(await rssMb(pid));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      samples.push(await rssMb(pid));
      return samples;
    },
  };
}
