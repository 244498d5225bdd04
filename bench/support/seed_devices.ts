/** Registers many devices at once with plain SQL, for socket benchmarks. */
import postgres from "postgres";
import { encodeBase64Url } from "../../sync/base64url.ts";
import { sha256Hex } from "../../sync/hashing.ts";

export interface SeededDevice {
  userId: string;
  deviceId: string;
  /** A device token the service accepts (only its SHA-256 is stored, as at registration). */
  token: string;
}

/**
 * `users` pro accounts named `<prefix>-<n>`, each with `perUser` devices, seen just now
 * (so authenticating a socket writes nothing). Bypasses the tier's device limit on purpose.
 */
export async function seedDevices(
  databaseUrl: string,
  prefix: string,
  users: number,
  perUser: number,
): Promise<SeededDevice[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const devices: SeededDevice[] = [];
    const userRows = Array.from({ length: users }, (_, u) => ({
      user_id: `${prefix}-${u}`,
      tier: "pro",
    }));
    for (let i = 0; i < userRows.length; i += 1000) {
      await sql`insert into users ${sql(userRows.slice(i, i + 1000))}`;
    }
    for (let u = 0; u < users; u++) {
      for (let d = 0; d < perUser; d++) {
        const token = "dpd_" + encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)));
        devices.push({ userId: `${prefix}-${u}`, deviceId: crypto.randomUUID(), token });
      }
    }
    const rows = devices.map((d, i) => ({
      id: d.deviceId,
      user_id: d.userId,
      name: `bench ${i}`,
      platform: "ios",
      token_hash: sha256Hex(d.token),
      last_seen_at: new Date(),
    }));
    for (let i = 0; i < rows.length; i += 1000) {
      await sql`insert into devices ${sql(rows.slice(i, i + 1000))}`;
    }
    return devices;
  } finally {
    await sql.end();
  }
}
