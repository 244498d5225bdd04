/** The tasks of deno.json, for tests that check what a task grants and run it as written. */

const ROOT = new URL("../../", import.meta.url).pathname;

/** Every task's command, by name, as deno.json writes it. */
export const TASKS: Record<string, string> = JSON.parse(
  await Deno.readTextFile(`${ROOT}deno.json`),
).tasks;

/** The `--allow-*` flags of a task's command, by name (`true` when given without a list). */
export function grants(task: string): Record<string, string[] | true> {
  return Object.fromEntries(
    task.split(/\s+/).filter((arg) => arg.startsWith("--allow-") || arg === "-A").map((arg) => {
      const [flag, list] = arg.split("=");
      return [flag, list === undefined ? true : list.split(",")];
    }),
  );
}

/** The environment a command sets for itself (`NAME=value` words before the program). */
export function taskEnv(command: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of command.split(/\s+/)) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word);
    if (!match) break;
    env[match[1]] = match[2];
  }
  return env;
}

/** The V8 flags of a command (`--v8-flags=a,b`), in order; none when it sets none. */
export function v8Flags(command: string): string[] {
  return command.split(/\s+/).filter((arg) => arg.startsWith("--v8-flags="))
    .flatMap((arg) => arg.slice("--v8-flags=".length).split(","));
}

/** The flags of a command that turn a Deno feature off (`--no-code-cache`), in order. */
export function disabledFeatures(command: string): string[] {
  return command.split(/\s+/).filter((arg) => arg.startsWith("--no-"));
}
