/**
 * `deno task compile`: builds `dist/devpocket-sync`, one binary with the migrations compiled
 * in, granted what `deno task start` is (the npm packages it reads come from the binary).
 * Extra arguments go to `deno compile` (`--target x86_64-unknown-linux-gnu`, `--output …`).
 */

/** The `deno compile` arguments, for the task and for its test. */
export async function compileArgs(extra: readonly string[] = []): Promise<string[]> {
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const { npmCache } = JSON.parse(new TextDecoder().decode(info.stdout));
  return [
    "compile",
    // As `deno task start`: under load V8 grows its young generation to 16 MB semi-spaces
    // and keeps them; at 4 MB the service's peak RSS under mixed load is ~50 MB lower at
    // the same throughput (bench/mixed_memory.ts). And the old generation may grow to 1.2x
    // what the last full GC kept (V8 picks up to 4x: ~30 MB live held 120 MB under load);
    // the peak is 60-80 MB lower at 1.5x and 5-8 MB lower again at 1.2x, for more frequent
    // full collections (README: Memory).
    "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=20",
    // As `deno task start`: Deno's code cache is a file it maps, and the pages read from it
    // at start-up stay resident, about 5 MB of the service's RSS, to save a start-up that
    // measured no faster with it (README: Memory).
    "--no-code-cache",
    "--allow-net",
    "--allow-env",
    "--allow-read=./data",
    "--allow-write=./data",
    // Deno 2.9.6's compile overflows its stack embedding bintrees' 2 MB perf fixture
    // (prom-client → tdigest → bintrees); nothing runs it.
    `--exclude=${npmCache}/registry.npmjs.org/bintrees/1.0.2/test`,
    "--output",
    "dist/devpocket-sync",
    ...extra,
    "main.ts",
  ];
}

if (import.meta.main) {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: await compileArgs(Deno.args),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(code);
}
