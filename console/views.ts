/** What the console shows: pure functions from API answers to elements. */
import type { ConflictView, DeviceView, SyncStats } from "../client/wire.ts";
import { type El, h } from "./dom.ts";

/** What the views call back into. */
export interface Actions {
  deleteDevice(id: string): void;
  resolve(
    conflict: ConflictView,
    resolution: "local" | "remote" | "merged",
    remember: boolean,
  ): void;
}

export function devicesView(
  devices: DeviceView[],
  me: string | null,
  actions: Actions,
  now: number,
): El {
  if (devices.length === 0) return h("p", {}, "No devices.");
  const rows = devices.map((d) => {
    const remove = h("button", { type: "button", class: "danger", "data-device": d.id }, "Delete");
    let armed = false;
    remove.addEventListener("click", () => {
      // Two clicks: a sign-out is not undone by accident.
      if (!armed) {
        armed = true;
        remove.textContent = "Confirm delete";
        return;
      }
      remove.disabled = true;
      actions.deleteDevice(d.id);
    });
    return h(
      "tr",
      { "data-device-row": d.id },
      h("td", {}, d.name, d.id === me ? " (this console)" : ""),
      h("td", {}, d.platform),
      h("td", { class: d.online ? "online" : "offline" }, d.online ? "online" : "offline"),
      h("td", {}, d.behind === undefined ? "—" : String(d.behind)),
      h("td", {}, ago(d.last_seen_at, now)),
      h("td", {}, remove),
    );
  });
  return h(
    "table",
    {},
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["Device", "Platform", "Status", "Behind", "Last seen", ""].map((t) => h("th", {}, t)),
      ),
    ),
    h("tbody", {}, ...rows),
  );
}

export function statsView(stats: SyncStats): El {
  const counts = Object.entries(stats.collections).map(([name, c]) =>
    h("tr", {}, h("td", {}, name), h("td", {}, String(c.items)), h("td", {}, String(c.deleted)))
  );
  const conflicts = stats.conflicts as { open?: number; resolved?: number };
  return h(
    "div",
    {},
    h(
      "dl",
      {},
      h("dt", {}, "Cursor"),
      h("dd", {}, stats.cursor),
      h("dt", {}, "Open conflicts"),
      h("dd", { id: "open-conflicts" }, String(conflicts.open ?? 0)),
      h("dt", {}, "Resolved conflicts"),
      h("dd", {}, String(conflicts.resolved ?? 0)),
      h("dt", {}, "Filtered commands"),
      h("dd", {}, String(stats.filtered_commands)),
    ),
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h("tr", {}, h("th", {}, "Collection"), h("th", {}, "Items"), h("th", {}, "Deleted")),
      ),
      h("tbody", {}, ...counts),
    ),
  );
}

export function conflictsView(conflicts: ConflictView[], actions: Actions): El {
  if (conflicts.length === 0) return h("p", { id: "no-conflicts" }, "No open conflicts.");
  return h("div", {}, ...conflicts.map((c) => conflictCard(c, actions)));
}

function conflictCard(conflict: ConflictView, actions: Actions): El {
  const remember = h("input", { type: "checkbox" });
  const buttons = h("div", { class: "buttons" });
  const choose = (resolution: "local" | "remote" | "merged") => () => {
    for (const b of [keepLocal, keepRemote, merge]) b.disabled = true;
    actions.resolve(conflict, resolution, remember.checked);
  };
  const keepLocal = h("button", {
    type: "button",
    "data-resolve": "local",
    onclick: choose("local"),
  }, "Keep incoming");
  const keepRemote = h("button", {
    type: "button",
    "data-resolve": "remote",
    onclick: choose("remote"),
  }, "Keep stored");
  const merge = h(
    "button",
    {
      type: "button",
      "data-resolve": "merged",
      disabled: conflict.local.data === null || conflict.remote.data === null,
      onclick: choose("merged"),
    },
    "Merge both",
  );
  buttons.append(
    keepLocal,
    keepRemote,
    merge,
    h("label", {}, remember, " remember for this collection"),
  );
  const side = (title: string, v: ConflictView["local"]) =>
    h(
      "div",
      { class: "side" },
      h("h4", {}, title),
      h("pre", {}, v.deleted ? "(deleted)" : JSON.stringify(v.data, null, 2)),
      h("small", {}, `device ${v.device_id}, ${new Date(v.modified_at).toISOString()}`),
    );
  return h(
    "article",
    { class: "conflict", "data-conflict": conflict.id },
    h("h3", {}, `${conflict.collection} / ${conflict.item_id}`),
    h(
      "div",
      { class: "sides" },
      side("Incoming change", conflict.local),
      side("Stored", conflict.remote),
    ),
    buttons,
  );
}

function ago(at: number | null, now: number): string {
  if (at === null) return "never";
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}
