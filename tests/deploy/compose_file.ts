/** compose.yaml and the Dockerfile as the deployment tests read them. */
import { parse } from "yaml";

const ROOT = new URL("../../", import.meta.url);

/** The parts of a compose service the tests look at. */
export interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
}

/** compose.yaml, parsed with YAML merge keys (`<<`) resolved as Compose resolves them. */
export async function readCompose(): Promise<{ services: Record<string, ComposeService> }> {
  return parse(await Deno.readTextFile(new URL("compose.yaml", ROOT)), { merge: true });
}

/** A file of the repository, as text. */
export function readRepoFile(path: string): Promise<string> {
  return Deno.readTextFile(new URL(path, ROOT));
}

/**
 * Compose's variable interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?message}` (and
 * the forms without `:`), from `vars`. A required variable that is missing or empty throws
 * with its message, as `docker compose up` stops.
 */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?:(:?)([-?])([^}]*))?\}/g,
    (_, name: string, colon: string, kind: string | undefined, arg: string) => {
      const set = vars[name];
      const missing = set === undefined || (colon === ":" && set === "");
      if (!missing || kind === undefined) return set ?? "";
      if (kind === "-") return arg;
      throw new Error(`required variable ${name} is missing a value: ${arg}`);
    },
  );
}

/** The Dockerfile's `CMD` (exec form) and its `ENV` pairs. */
export async function readDockerfile(): Promise<
  { from: string; cmd: string[]; env: Record<string, string>; healthcheck: string }
> {
  const text = await readRepoFile("Dockerfile");
  const line = (instruction: string) =>
    text.split("\n").filter((l) => l.startsWith(`${instruction} `)).map((l) =>
      l.slice(instruction.length + 1).trim()
    );
  const env: Record<string, string> = {};
  for (const pairs of line("ENV")) {
    for (const pair of pairs.split(/\s+/)) {
      const [name, ...value] = pair.split("=");
      env[name] = value.join("=");
    }
  }
  return {
    from: line("FROM")[0],
    cmd: JSON.parse(line("CMD")[0]),
    env,
    healthcheck: line("HEALTHCHECK")[0],
  };
}
