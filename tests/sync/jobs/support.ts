import { JobsSql } from "../../../db/jobs_sql.ts";
import { SILENT_LOGGER } from "../../../sync/logger.ts";
import { JobRunner, type JobRunnerOptions } from "../../../sync/jobs/job_runner.ts";
import type { TestApp } from "../../support/app.ts";
import { command } from "../../support/changes.ts";

export const DAY_MS = 86_400_000;

/** A runner on the test app's database whose clock the test sets; notifications are recorded. */
export function testRunner(
  t: TestApp,
  clock: () => number,
  options: Partial<JobRunnerOptions> = {},
) {
  const notified: { userId: string; head: number }[] = [];
  const runner = new JobRunner({
    store: new JobsSql(t.db.driver),
    logger: SILENT_LOGGER,
    intervalSeconds: 0,
    tombstoneRetentionDays: 30,
    deviceInactiveDays: 60,
    notify: (userId, head) => {
      notified.push({ userId, head });
      return Promise.resolve();
    },
    clock,
    ...options,
  });
  return { runner, notified };
}

/** Pushes commands (each its own text) run at the given times; answers the push body. */
export async function pushCommands(
  t: TestApp,
  token: string,
  items: { text: string; startedAt: number; cwd?: string }[],
) {
  const changes = items.map(({ text, startedAt, cwd }) =>
    command(text, {
      data: { command: text, session_id: "s1", started_at: startedAt, ...(cwd && { cwd }) },
    })
  );
  const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
  if (res.status !== 200) throw new Error(`push failed: ${res.status} ${await res.text()}`);
  return { changes, body: await res.json() };
}

export interface Pulled {
  changes: {
    id: string;
    version: number;
    deleted: boolean;
    data: { command?: string } | null;
    cursor: string;
    device_id: string | null;
  }[];
  cursor: string;
}

/** Pulls every page after `since` with a device token. */
export async function pullAll(t: TestApp, token: string, since = ""): Promise<Response | Pulled> {
  const res = await t.request("GET", `/api/sync/data?limit=1000${since ? `&since=${since}` : ""}`, {
    token,
  });
  if (res.status !== 200) return res;
  return await res.json();
}
