import { z } from "zod";
import type { MergeOptions, StrategyName } from "../conflict/types.ts";

/**
 * The synced collections of the contract (DESIGN.md §1, §2): five of a user's, and
 * `team_ssh_profiles`, owned by the user's team (sync/teams.ts).
 */
export const COLLECTIONS = [
  "commands",
  "ssh_profiles",
  "ssh_keys",
  "settings",
  "ai_preferences",
  "team_ssh_profiles",
] as const;
export type Collection = typeof COLLECTIONS[number];

const text = z.string().max(4096);
const epochMs = z.number().int().nonnegative();
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
const PUBLIC_KEY_LINE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

const Command = z.looseObject({
  command: z.string().min(1).max(65_536),
  session_id: z.string().min(1).max(256),
  started_at: epochMs,
  cwd: text.optional(),
  host: text.optional(),
  shell: text.optional(),
  exit_code: z.number().int().optional(),
  duration_ms: z.number().int().nonnegative().optional(),
});

const SshProfile = z.looseObject({
  name: z.string().min(1).max(256),
  host: z.string().min(1).max(1024),
  port: z.number().int().min(1).max(65_535).default(22),
  username: z.string().min(1).max(256),
  key_fingerprint: z.string().regex(FINGERPRINT, "must be SHA256:<base64>").optional(),
  jump_host: text.optional(),
  tags: z.array(z.string().max(256)).max(256).optional(),
  options: z.record(z.string(), z.string().max(4096)).optional(),
  notes: z.string().max(65_536).optional(),
});

const SshKey = z.strictObject({
  name: z.string().min(1).max(256),
  type: z.enum(["ed25519", "rsa", "ecdsa", "ed25519-sk", "ecdsa-sk"]),
  fingerprint: z.string().regex(FINGERPRINT, "must be SHA256:<base64>"),
  public_key: z.string().max(16_384).regex(PUBLIC_KEY_LINE, "must be one OpenSSH public key line")
    .optional(),
  comment: text.optional(),
});

const Settings = z.record(z.string().min(1).max(256), z.json());

const AiPreferences = z.looseObject({
  provider: z.string().min(1).max(256),
  model: z.string().max(256).optional(),
  templates: z.array(z.object({ name: z.string().min(1).max(256), prompt: z.string().max(65_536) }))
    .max(1000).optional(),
  features: z.record(z.string(), z.boolean()).optional(),
  analytics_opt_in: z.boolean().optional(),
});

/** What the service knows of each collection: its data schema and conflict defaults. */
export interface CollectionSpec {
  schema: z.ZodType<Record<string, unknown>>;
  defaultStrategy: StrategyName;
  merge: MergeOptions;
  /** Private key material is refused anywhere in these collections' data. */
  holdsKeys: boolean;
}

export const SPECS: Record<Collection, CollectionSpec> = {
  commands: {
    schema: Command,
    defaultStrategy: "additive",
    merge: { setFields: [], dedupeKey: ["command", "session_id"] },
    holdsKeys: false,
  },
  ssh_profiles: {
    schema: SshProfile,
    defaultStrategy: "field_merge",
    merge: { setFields: ["tags"], dedupeKey: [] },
    holdsKeys: true,
  },
  ssh_keys: {
    schema: SshKey,
    defaultStrategy: "timestamp",
    merge: { setFields: [], dedupeKey: [] },
    holdsKeys: true,
  },
  settings: {
    schema: Settings,
    defaultStrategy: "field_merge",
    merge: { setFields: [], dedupeKey: [] },
    holdsKeys: false,
  },
  // The ssh_profiles fields; team items always settle with this default (sync/teams.ts).
  team_ssh_profiles: {
    schema: SshProfile,
    defaultStrategy: "field_merge",
    merge: { setFields: ["tags"], dedupeKey: [] },
    holdsKeys: true,
  },
  ai_preferences: {
    schema: AiPreferences,
    defaultStrategy: "timestamp",
    merge: { setFields: [], dedupeKey: [] },
    holdsKeys: false,
  },
};

export function isCollection(value: unknown): value is Collection {
  return (COLLECTIONS as readonly unknown[]).includes(value);
}
