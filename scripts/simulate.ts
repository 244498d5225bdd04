/**
 * `deno task simulate --devices 3 --minutes 1 [--offline-rate 0.05] [--users 1]
 *   [--actions-per-second 1] [--restart-rate 0.01] [--seed N] [--team ID] [--store-dir DIR]
 *   [--url URL (--account-token T | --jwt-secret S)]`
 *
 * Simulated devices of one user (or more) use the service as people do, then every device
 * must have converged to the server's state. Without --url it starts the service here:
 * embedded, or on DATABASE_URL / REDIS_URL when they are set. Exits 1 if it did not converge.
 */
import { parseArgs } from "node:util";
import { formatReport, runSimulation } from "../simulator/simulation.ts";
import { remoteTarget, startedTarget, type Target } from "../simulator/target.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    devices: { type: "string", default: "3" },
    minutes: { type: "string", default: "1" },
    users: { type: "string", default: "1" },
    "offline-rate": { type: "string", default: "0.05" },
    "restart-rate": { type: "string", default: "0.01" },
    "actions-per-second": { type: "string", default: "1" },
    seed: { type: "string" },
    team: { type: "string" },
    "store-dir": { type: "string" },
    url: { type: "string" },
    "account-token": { type: "string" },
    "jwt-secret": { type: "string" },
  },
});

const number = (name: keyof typeof values, min: number) => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < min) {
    console.error(`--${name} must be a number >= ${min}: got ${JSON.stringify(values[name])}`);
    Deno.exit(2);
  }
  return value;
};

let target: Target;
if (values.url) {
  const auth = values["account-token"]
    ? { accountToken: values["account-token"] }
    : values["jwt-secret"]
    ? { jwtSecret: values["jwt-secret"] }
    : null;
  if (!auth) {
    console.error("--url needs --account-token (one user) or --jwt-secret (to mint tokens)");
    Deno.exit(2);
  }
  target = remoteTarget(values.url, auth);
} else {
  target = await startedTarget(Deno.env.toObject());
}
try {
  const report = await runSimulation({
    target,
    devices: number("devices", 1),
    users: number("users", 1),
    durationMs: number("minutes", 0) * 60_000,
    offlineRate: number("offline-rate", 0),
    restartRate: number("restart-rate", 0),
    actionsPerSecond: number("actions-per-second", 0.01),
    ...(values.seed && { seed: number("seed", 0) }),
    ...(values.team && { team: values.team }),
    ...(values["store-dir"] && { storeDir: values["store-dir"] }),
  });
  console.log(formatReport(report).join("\n"));
  Deno.exitCode = report.converged ? 0 : 1;
} catch (error) {
  console.error(`The simulation failed: ${error instanceof Error ? error.message : error}`);
  Deno.exitCode = 1;
} finally {
  await target[Symbol.asyncDispose]();
}
