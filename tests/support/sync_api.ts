import assert from "node:assert/strict";
import type { TestApp } from "./app.ts";

/** One result of a push, as the contract's answer spells it. */
export interface PushResult {
  change_id: string | null;
  status: string;
  version?: number;
  conflict_id?: string;
  error?: { code: string; message: string; details?: { fields?: Record<string, string> } };
}

/** A pulled item, as the contract's answer spells it. */
export interface PulledItem {
  collection: string;
  id: string;
  version: number;
  data: Record<string, unknown> | null;
  deleted: boolean;
  cursor: string;
}

/** Pushes a batch and insists on 200: the contract answers every batch of 1–500 changes. */
export async function pushOk(
  t: TestApp,
  token: string,
  changes: unknown[],
): Promise<{ results: PushResult[]; cursor: string }> {
  const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

/** Every current item of the user, paging from the beginning. */
export async function pullAll(t: TestApp, token: string): Promise<PulledItem[]> {
  const items: PulledItem[] = [];
  let cursor = "";
  for (;;) {
    const res = await t.request(
      "GET",
      `/api/sync/data?limit=1000${cursor ? `&since=${cursor}` : ""}`,
      { token },
    );
    assert.equal(res.status, 200, await res.clone().text());
    const page = await res.json();
    items.push(...page.changes);
    cursor = page.cursor;
    if (!page.has_more) return items;
  }
}

/** `status`, or the error code of a rejected change: the short form tests compare. */
export function outcome(result: PushResult): string {
  return result.error?.code ?? result.status;
}
