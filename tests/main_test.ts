import assert from "node:assert/strict";
import * as jose from "jose";
import { eventually } from "./support/eventually.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** main.ts in its own process on the embedded database, until it logged that it listens. */
interface Started extends AsyncDisposable {
  /** The `url` it logged. */
  url: string;
  /** Every log line so far; after disposal, all of them. */
  lines: string[];
}

async function startMain(env: Record<string, string>): Promise<Started> {
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-main-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN],
    // Nothing of the test environment (a DATABASE_URL, say) reaches the service.
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      ...(Deno.env.get("DENO_DIR") && { DENO_DIR: Deno.env.get("DENO_DIR")! }),
      DATA_DIR: dataDir,
      PORT: "0",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await reading;
    await Deno.remove(dataDir, { recursive: true });
  };
  try {
    let url = "";
    await eventually(
      () => {
        const listening = lines.map(parse).find((l) => l.message === "DevPocket Sync listening");
        url = listening?.url ?? "";
        return url !== "";
      },
      60_000,
      "main.ts to log that it listens",
    );
    return { url, lines, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function parse(line: string): { message?: string; url?: string } {
  try {
    return JSON.parse(line);
  } catch {
    return {};
  }
}

Deno.test("main.ts listens on HOST and offers mint-token when tokens are HS256", async () => {
  const main = await startMain({ HOST: "127.0.0.1" });
  const url = new URL(main.url);
  assert.equal(url.hostname, "127.0.0.1");
  assert.equal((await fetch(new URL("/health", url))).status, 200);
  await main[Symbol.asyncDispose]();
  assert.ok(main.lines.some((l) => parse(l).message?.includes("deno task mint-token")));
});

Deno.test("main.ts verifying by public key never suggests the HS256 mint-token task", async () => {
  const { publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const main = await startMain({
    HOST: "127.0.0.1",
    JWT_PUBLIC_KEY: await jose.exportSPKI(publicKey),
    JWT_ALGORITHM: "ES256",
  });
  // Served: the start-up messages, all written before the first request, are complete.
  assert.equal((await fetch(new URL("/health", main.url))).status, 200);
  await main[Symbol.asyncDispose]();
  assert.ok(main.lines.length > 0);
  assert.deepEqual(main.lines.filter((l) => l.includes("mint-token")), []);
});
