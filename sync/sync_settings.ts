import { z } from "zod";
import { STRATEGY_NAMES } from "../conflict/mod.ts";
import { COLLECTIONS } from "./collections.ts";
import { compileUserPattern } from "./privacy/user_pattern.ts";

/** The id of the settings item that steers sync (DESIGN.md §7). */
export const SYNC_SETTINGS_ID = "sync";

/** A user's regular expression as written (its engine and limits: privacy/user_pattern.ts). */
export const PATTERN_SOURCE = z.string().min(1).max(1000);

const HistoryRule = z.object({
  match: z.object({
    pattern: PATTERN_SOURCE.optional(),
    cwd: z.string().max(4096).optional(),
    host: z.string().max(1024).optional(),
  }),
  action: z.enum(["local_only", "expire"]),
  ttl_seconds: z.number().int().positive().optional(),
}).refine((rule) => rule.action !== "expire" || rule.ttl_seconds !== undefined, {
  message: "expire rules need ttl_seconds",
  path: ["ttl_seconds"],
});

// What reads accept: stored settings keep working when a newer rule would refuse a value.
const StoredSyncSettings = z.looseObject({
  // A user's own collections only: team items settle with the collection default whoever
  // writes them, so two admins' preferences never make the team's outcome depend on who pushed.
  conflict_strategies: z.partialRecord(
    z.enum(COLLECTIONS).exclude(["team_ssh_profiles"]),
    z.enum(STRATEGY_NAMES),
  ).optional(),
  secret_patterns: z.array(PATTERN_SOURCE).max(200).optional(),
  collections: z.array(z.enum(COLLECTIONS)).optional(),
  device_policies: z.record(z.string(), z.object({ collections: z.array(z.enum(COLLECTIONS)) }))
    .optional(),
  history_rules: z.array(HistoryRule).max(100).optional(),
});

/**
 * The sync preferences as a write must give them; unknown keys are kept, as in every
 * settings namespace. Every user pattern must compile in the linear-time engine
 * (DESIGN.md §5), so a refusal names the pattern's field and the reason.
 */
export const SyncSettings = StoredSyncSettings.superRefine((settings, ctx) => {
  const check = (path: PropertyKey[], pattern: string | undefined) => {
    const compiled = pattern === undefined ? null : compileUserPattern(pattern);
    if (compiled && !compiled.ok) ctx.addIssue({ code: "custom", path, message: compiled.reason });
  };
  settings.secret_patterns?.forEach((pattern, i) => check(["secret_patterns", i], pattern));
  settings.history_rules?.forEach((rule, i) =>
    check(["history_rules", i, "match", "pattern"], rule.match.pattern)
  );
});
export type SyncSettings = z.infer<typeof StoredSyncSettings>;

/**
 * Reads stored sync settings. Stored data was validated when written; should it not parse
 * (a schema change), the defaults apply rather than failing every push of the user.
 */
export function readSyncSettings(data: Record<string, unknown> | null | undefined): SyncSettings {
  const parsed = StoredSyncSettings.safeParse(data ?? {});
  return parsed.success ? parsed.data : {};
}
