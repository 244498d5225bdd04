/** Builders for push changes, so tests say only what matters to them. */
export function command(text: string, overrides: Record<string, unknown> = {}) {
  return change("commands", crypto.randomUUID(), {
    command: text,
    session_id: "s1",
    started_at: 1_700_000_000_000,
  }, overrides);
}

export function change(
  collection: string,
  id: string,
  data: Record<string, unknown> | undefined,
  overrides: Record<string, unknown> = {},
) {
  return {
    change_id: crypto.randomUUID(),
    collection,
    id,
    op: data === undefined ? "delete" : "upsert",
    ...(data !== undefined && { data }),
    base_version: null,
    modified_at: 1_700_000_000_000,
    ...overrides,
  };
}

export const SSH_KEY = {
  name: "laptop",
  type: "ed25519",
  fingerprint: "SHA256:" + "A".repeat(43),
  public_key:
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop",
};

export const PRIVATE_KEY_BLOCK =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
