/**
 * The system Chromium for the browser tests (Debian's `chromium` package). `deno task test`
 * installs it when it is missing and the run may (root with apt-get, as on CI); otherwise
 * the browser tests fail naming the package.
 */
const DEFAULT_PATH = "/usr/bin/chromium";

const HOW_TO = "install Debian's `chromium` package (`apt-get install -y chromium`), " +
  "or set CHROMIUM_PATH to a Chromium or Chrome binary";

/** Where Chromium is; installs it first when missing and this process may. */
export async function ensureChromium(): Promise<string | null> {
  const configured = Deno.env.get("CHROMIUM_PATH");
  if (configured) return configured;
  if (await exists(DEFAULT_PATH)) return DEFAULT_PATH;
  if (Deno.uid() !== 0 || !(await exists("/usr/bin/apt-get"))) return null;
  console.log("tests: Chromium is missing: apt-get install -y chromium");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = () => run("apt-get", ["install", "-y", "-q", "chromium"], env);
  // A fresh machine may not have the package lists yet.
  if (!(await install())) await run("apt-get", ["update", "-q"], env).then(install);
  return (await exists(DEFAULT_PATH)) ? DEFAULT_PATH : null;
}

/** The Chromium binary a browser test drives; fails with what to install. */
export async function chromiumPath(): Promise<string> {
  const path = Deno.env.get("CHROMIUM_PATH") ?? DEFAULT_PATH;
  if (!(await exists(path))) throw new Error(`Chromium not found at ${path}: ${HOW_TO}`);
  return path;
}

/** Launch flags for a headless run on a machine without outside network. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<boolean> {
  const output = await new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) console.error(new TextDecoder().decode(output.stderr).slice(-2000));
  return output.success;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
