/**
 * A test double for the Upstash Redis REST service (which tests cannot reach): a local
 * HTTP server speaking the subset of the documented REST protocol that @upstash/redis
 * and the UpstashBus use, executing every command on a real Redis.
 *
 * - `POST /` with a JSON command array, e.g. `["PUBLISH","ch","hi"]` → `{"result": …}`,
 *   or 400 `{"error": "…"}` when Redis answers an error.
 * - `POST /pipeline` with an array of command arrays → `[{"result": …} | {"error": …}]`.
 * - `POST /subscribe/<channel>` → a `text/event-stream` of `data: subscribe,<channel>,1`
 *   then `data: message,<channel>,<message>` per published message.
 * - `Authorization: Bearer <token>` (or `?_token=`) on every request, else 401.
 * - `Upstash-Encoding: base64`: every string in a result is base64, except `OK`.
 * - `EVAL` scripts lose Upstash's own shebang flag `allow-key-locking`, which open-source
 *   Redis refuses (@upstash/ratelimit's scripts carry it). Their `EVALSHA` then answers
 *   NOSCRIPT (the real Redis knows the script by another digest), and clients fall back to
 *   `EVAL`, as they do on Upstash after a script flush.
 * - Like the service, an idle event stream carries nothing (no comments, no pings).
 *
 * Not covered: GET and path-style commands (`/set/foo/bar`), `/multi-exec`, psubscribe.
 */
import { createClient } from "redis";

/** A running double; `close()` (or `await using`) ends its streams, server and clients. */
export interface UpstashRestDouble extends AsyncDisposable {
  /** Plays UPSTASH_REDIS_REST_URL. */
  url: string;
  /** Plays UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  /** Ends every open event stream from the server's side, as a service restart would. */
  dropStreams(): void;
  /**
   * Stops writing to every open event stream without ending it, as a half-open connection
   * (a dead proxy, a cut network) looks to the client. Streams opened later work.
   */
  silenceStreams(): void;
  close(): Promise<void>;
}

type Reply = string | number | null | Reply[];

/** Starts the double on 127.0.0.1 on a free port, backed by the Redis at `redisUrl`. */
export async function startUpstashRestDouble(
  redisUrl: string,
  token: string,
): Promise<UpstashRestDouble> {
  // RESP2, so replies have the array shapes the REST API answers with.
  const commands = createClient({ url: redisUrl, RESP: 2 });
  const subscriber = createClient({ url: redisUrl, RESP: 2 });
  for (const client of [commands, subscriber]) client.on("error", () => {});
  await Promise.all([commands.connect(), subscriber.connect()]);
  const streams = new Set<() => void>();
  const silencers = new Set<() => void>();

  const execute = async (command: unknown): Promise<{ result: Reply } | { error: string }> => {
    if (!Array.isArray(command) || command.length === 0) {
      return { error: "ERR command must be a non-empty JSON array" };
    }
    const args = command.map(String);
    if (args[0].toUpperCase() === "EVAL") args[1] = withoutUpstashFlags(args[1]);
    try {
      return { result: await commands.sendCommand(args) as Reply };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  };

  const subscribe = (channel: string, completed: Promise<void>): Response => {
    const encoder = new TextEncoder();
    let end = () => {};
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        let ended = false;
        let silenced = false;
        const silence = () => silenced = true;
        silencers.add(silence);
        const send = (line: string) => {
          if (ended || silenced) return;
          // A throw would unwind into node-redis's reply parser, so a failed write ends
          // this stream only.
          try {
            controller.enqueue(encoder.encode(`data: ${line}\n\n`));
          } catch {
            end();
          }
        };
        // Messages can still arrive between the client leaving and UNSUBSCRIBE landing.
        const listener = (message: string) => send(`message,${channel},${message}`);
        end = () => {
          if (ended) return;
          ended = true;
          streams.delete(end);
          silencers.delete(silence);
          subscriber.unsubscribe(channel, listener).catch(() => {});
          try {
            controller.close();
          } catch {
            // Already closed or cancelled by the client.
          }
        };
        streams.add(end);
        // Settles when the client leaves (rejects) or the stream was ended here (resolves).
        completed.then(end, end);
        await subscriber.subscribe(channel, listener);
        send(`subscribe,${channel},1`);
      },
      cancel: () => end(),
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  };

  const handle = async (request: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const url = new URL(request.url);
    const auth = request.headers.get("authorization") ?? `Bearer ${url.searchParams.get("_token")}`;
    if (auth !== `Bearer ${token}`) {
      return Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    if (request.method !== "POST") {
      return Response.json({ error: "ERR the test double serves POST only" }, { status: 405 });
    }
    if (url.pathname.startsWith("/subscribe/")) {
      const channel = decodeURIComponent(url.pathname.slice("/subscribe/".length));
      return subscribe(channel, info.completed);
    }
    const base64 = request.headers.get("upstash-encoding") === "base64";
    const body = await request.json().catch(() => undefined);
    if (url.pathname === "/") {
      const answer = await execute(body);
      if ("error" in answer) return Response.json(answer, { status: 400 });
      return Response.json(base64 ? { result: encode(answer.result) } : answer);
    }
    if (url.pathname === "/pipeline" && Array.isArray(body)) {
      const answers = [];
      for (const command of body) {
        const answer = await execute(command);
        answers.push("error" in answer || !base64 ? answer : { result: encode(answer.result) });
      }
      return Response.json(answers);
    }
    return Response.json(
      { error: `ERR the test double does not serve ${url.pathname}` },
      { status: 400 },
    );
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      for (const end of [...streams]) end();
      await server.shutdown();
      commands.destroy();
      subscriber.destroy();
    })();
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    token,
    dropStreams: () => {
      for (const end of [...streams]) end();
    },
    silenceStreams: () => {
      for (const silence of [...silencers]) silence();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Upstash's base64 response encoding: strings are base64 of their UTF-8, "OK" stays. */
function encode(reply: Reply): Reply {
  if (Array.isArray(reply)) return reply.map(encode);
  if (typeof reply !== "string" || reply === "OK") return reply;
  let binary = "";
  for (const byte of new TextEncoder().encode(reply)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** A script without the shebang flags only Upstash knows. */
function withoutUpstashFlags(script: string): string {
  return script.replace(/^#!lua flags=([^\n]*)/, (_line, flags: string) => {
    const kept = flags.split(",").map((f) => f.trim()).filter((f) =>
      f && f !== "allow-key-locking"
    );
    return kept.length ? `#!lua flags=${kept.join(",")}` : "#!lua";
  });
}
