/**
 * What a simulated person does on a device, drawn from a seeded generator so a run can be
 * repeated: the action mix and the data each action writes.
 */
import type { SyncClient } from "../client/sync_client.ts";
import type { TeamRole } from "../sync/tiers.ts";

/** A seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ActionName =
  | "type_command"
  | "type_secret"
  | "retype_command"
  | "delete_command"
  | "create_profile"
  | "edit_profile"
  | "delete_profile"
  | "change_setting"
  | "change_ai_preferences"
  | "edit_team_profile"
  | "delete_team_profile";

/** Relative weights: mostly typing, some editing, a little deleting. */
const WEIGHTS: Record<ActionName, number> = {
  type_command: 40,
  type_secret: 2,
  retype_command: 3,
  delete_command: 4,
  create_profile: 5,
  edit_profile: 14,
  delete_profile: 2,
  change_setting: 15,
  change_ai_preferences: 5,
  edit_team_profile: 10,
  delete_team_profile: 1,
};

/** Team actions, and the role (DESIGN.md §11) a device needs to be drawn them. */
const TEAM_ACTIONS: Partial<Record<ActionName, readonly TeamRole[]>> = {
  // Members try too, now and then: the server answers `rejected` (FORBIDDEN) and the
  // client puts the team's copy back, which the convergence check then compares.
  edit_team_profile: ["admin", "member"],
  delete_team_profile: ["admin"],
};
/** How much rarer a member's (refused) team edit is than an admin's. */
const MEMBER_TEAM_EDITS = 0.2;

const COMMANDS = ["ls -la", "git status", "make test", "kubectl get pods", "cd ~/src", "htop"];
const HOSTS = ["web", "db", "cache", "bastion", "build"];
const THEMES = ["dark", "light", "solarized", "nord"];
const PROVIDERS = ["openai", "anthropic", "local"];

/** The person behind one device: picks an action and performs it on the client. */
export class Behaviour {
  #typed = 0;
  #lastCommand: string | null = null;

  constructor(
    readonly device: number,
    readonly random: () => number,
    /** The device's role in its user's team; null without one (the hook for teams). */
    readonly teamRole: TeamRole | null,
  ) {}

  /** Performs one action; answers its name and whether it queued a change. */
  act(client: SyncClient): { action: ActionName; changed: boolean } {
    const action = this.#pick();
    return { action, changed: this.#perform(action, client) };
  }

  #pick(): ActionName {
    const names = (Object.keys(WEIGHTS) as ActionName[]).filter((name) => {
      const roles = TEAM_ACTIONS[name];
      return !roles || (this.teamRole !== null && roles.includes(this.teamRole));
    });
    const weight = (name: ActionName) =>
      WEIGHTS[name] * (TEAM_ACTIONS[name] && this.teamRole === "member" ? MEMBER_TEAM_EDITS : 1);
    let roll = this.random() * names.reduce((sum, name) => sum + weight(name), 0);
    for (const name of names) {
      roll -= weight(name);
      if (roll < 0) return name;
    }
    return names[0];
  }

  #perform(action: ActionName, client: SyncClient): boolean {
    const session = `device-${this.device}`;
    switch (action) {
      case "type_command":
      case "type_secret": {
        const text = action === "type_secret"
          ? `export GITHUB_TOKEN=ghp_${this.#token()}`
          : `${this.#one(COMMANDS)} # ${this.device}.${this.#typed++}`;
        this.#lastCommand = text;
        client.put("commands", crypto.randomUUID(), {
          command: text,
          session_id: session,
          started_at: Date.now(),
          exit_code: this.random() < 0.9 ? 0 : 1,
        });
        return true;
      }
      case "retype_command": {
        // The same text in the same session: the server keeps one (`duplicate`).
        if (!this.#lastCommand) return false;
        client.put("commands", crypto.randomUUID(), {
          command: this.#lastCommand,
          session_id: session,
          started_at: Date.now(),
        });
        return true;
      }
      case "delete_command":
        return this.#deleteOne(client, "commands");
      case "create_profile": {
        const host = this.#one(HOSTS);
        client.put("ssh_profiles", `${host}-${Math.floor(this.random() * 4)}`, {
          name: host,
          host: `${host}.example.com`,
          username: "deploy",
          port: 22,
          tags: [host],
        });
        return true;
      }
      case "edit_profile":
      case "edit_team_profile": {
        const collection = action === "edit_team_profile" ? "team_ssh_profiles" : "ssh_profiles";
        const items = client.list(collection);
        const item = items.length > 0 ? this.#one(items) : null;
        const data = item?.data ?? { name: "shared", host: "shared.example.com", username: "ops" };
        const id = item?.id ?? "shared";
        const edits: Record<string, unknown>[] = [
          { port: 1024 + Math.floor(this.random() * 1000) },
          { notes: `edited on device ${this.device}` },
          { tags: [...new Set([...((data.tags as string[]) ?? []), `d${this.device}`])] },
        ];
        client.put(collection, id, { ...data, ...this.#one(edits) });
        return true;
      }
      case "delete_profile":
        return this.#deleteOne(client, "ssh_profiles");
      case "delete_team_profile":
        return this.#deleteOne(client, "team_ssh_profiles");
      case "change_setting": {
        const namespace = this.random() < 0.7 ? "ui" : "terminal";
        const current = client.get("settings", namespace)?.data ?? {};
        const edit = namespace === "ui"
          ? (this.random() < 0.5
            ? { theme: this.#one(THEMES) }
            : { font_size: 10 + Math.floor(this.random() * 8) })
          : { scrollback: 1000 * (1 + Math.floor(this.random() * 10)) };
        client.put("settings", namespace, { ...current, ...edit });
        return true;
      }
      case "change_ai_preferences":
        client.put("ai_preferences", "main", {
          provider: this.#one(PROVIDERS),
          analytics_opt_in: this.random() < 0.5,
        });
        return true;
    }
  }

  #deleteOne(client: SyncClient, collection: string): boolean {
    const items = client.list(collection);
    if (items.length === 0) return false;
    client.delete(collection, this.#one(items).id);
    return true;
  }

  #one<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)];
  }

  #token(): string {
    return Array.from(
      { length: 36 },
      () => "abcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(this.random() * 36)],
    )
      .join("");
  }
}
