import type { MiddlewareHandler } from "hono";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { AppEnv } from "./env.ts";

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/** Below this, compression saves less than its headers and CPU cost. */
export const COMPRESS_MIN_BYTES = 1024;
/** JSON and text; an event stream never ends, so it is never buffered here. */
const COMPRESSIBLE = /^(application\/(?:[\w.+-]+\+)?json|text\/(?!event-stream))/i;

type Encoding = "gzip" | "br";

/**
 * Compresses JSON and text answers of at least {@linkcode COMPRESS_MIN_BYTES} with gzip or
 * brotli when the request's Accept-Encoding allows one (a pull page of 1,000 changes
 * shrinks to about a quarter). WebSocket upgrades and answers that already carry an
 * encoding pass untouched. Brotli runs at quality 1: on the bench's 1,000-change page
 * (308 KB) it is both smaller and quicker than gzip at its default level (46.5 KB in 1.4 ms
 * against 48.7 KB in 1.8 ms); quality 0 saves a third of that time for 31 % more bytes, and
 * the default, 11, takes many times longer.
 */
export function compression(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const res = c.res;
    if (
      res.status === 101 || c.req.header("upgrade") !== undefined || c.req.method === "HEAD" ||
      res.headers.has("content-encoding") ||
      !COMPRESSIBLE.test(res.headers.get("content-type") ?? "")
    ) return;
    // On the answer itself: c.header would rebuild a finalized Response (its body and every
    // header) for this one header. Every answer here is built by the app, so its headers are
    // mutable (a fetched Response's would not be).
    res.headers.append("Vary", "Accept-Encoding");
    const encoding = chooseEncoding(c.req.header("accept-encoding"));
    // must: `res.body` only past the length check. Reading that getter turns a text or
    // bytes body into a stream, which Deno then sends in chunks behind the headers (two
    // writes, and the stream's machinery) instead of in one write.
    if (encoding === null || declaredLength(res.headers) < COMPRESS_MIN_BYTES || !res.body) return;
    const body = new Uint8Array(await res.arrayBuffer());
    const packed = body.length < COMPRESS_MIN_BYTES ? body : await compress(body, encoding);
    c.res = new Response(packed, res);
    if (packed !== body) c.res.headers.set("Content-Encoding", encoding);
    c.res.headers.set("Content-Length", String(packed.length));
  };
}

/** The declared `Content-Length`; Infinity when there is none (the body must be read). */
function declaredLength(headers: Headers): number {
  const value = headers.get("content-length");
  return value === null ? Infinity : Number(value);
}

async function compress(
  body: Uint8Array<ArrayBuffer>,
  encoding: Encoding,
): Promise<Uint8Array<ArrayBuffer>> {
  const packed = encoding === "gzip" ? await gzip(body) : await brotli(body, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 1,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  });
  // A Buffer, whose memory may be a shared pool: the Response gets exactly its bytes.
  return new Uint8Array(packed);
}

/**
 * The accepted encoding with the higher q-value (`*` counts for both); brotli on a tie, as
 * it is the smaller and the quicker of the two here. Null: neither is accepted.
 */
export function chooseEncoding(header: string | undefined): Encoding | null {
  if (!header) return null;
  const q: Record<string, number> = {};
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const weight = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const value = weight ? Number(weight.slice(2)) : 1;
    q[name.trim()] = Number.isFinite(value) ? value : 0;
  }
  const gzipQ = q.gzip ?? q["*"] ?? 0;
  const brQ = q.br ?? q["*"] ?? 0;
  if (gzipQ <= 0 && brQ <= 0) return null;
  return brQ >= gzipQ ? "br" : "gzip";
}
