import type { DeviceView } from "./api_schemas.ts";
import { encodeBase64Url } from "./base64url.ts";
import type { ChangeNotifier } from "./change_notifier.ts";
import { BoundedMap } from "./bounded_map.ts";
import { sha256Hex } from "./hashing.ts";
import { changesBetween, encodePosition, type Position } from "./cursor.ts";
import { AppError } from "./errors.ts";
import type { AuthenticatedDevice, DeviceRow, SyncStore } from "./sync_store.ts";
import type { ReceiptsStore } from "./receipts.ts";
import { type Account, lowestTierAllowing, TIER_LIMITS, type Upgrade } from "./tiers.ts";
import type { AccountToken } from "./account_tokens.ts";
import type { DeviceIdentity } from "./sync_service.ts";
import { syncedTeam, teamOwner } from "./teams.ts";

/**
 * Device tokens are opaque random strings; only their SHA-256 is stored. Every instance
 * that shares the database accepts them and sees a deletion at once, with no key to share.
 */
const TOKEN_PREFIX = "dpd_";
/** Seen within this window counts as online (sockets refresh it while open). */
const ONLINE_WINDOW_MS = 90_000;
/** last_seen_at is written at most this often per device, to spare the database. */
const TOUCH_EVERY_MS = 60_000;

/** Authentications a sole instance remembers at most; past it, the oldest is forgotten. */
export const REMEMBERED_TOKENS = 1_000;

export class DeviceService {
  /** By token hash: see `soleWriter`. */
  readonly #remembered = new BoundedMap<string, AuthenticatedDevice>(REMEMBERED_TOKENS);
  /** Moves on with every change to devices or accounts: a lookup older than it is not kept. */
  #epoch = 0;

  constructor(
    private readonly store: SyncStore & Pick<ReceiptsStore, "heads">,
    private readonly notifier: Pick<ChangeNotifier, "revoked" | "tokenReplaced" | "teamChanged">,
    private readonly clock: () => number = Date.now,
    /**
     * This process makes every change to devices and accounts (the embedded database, which
     * one process opens): it remembers each token's device and account instead of reading
     * them per request (there, a single-change push then costs 5-9 % less CPU: a statement
     * and a pass through PGlite fewer), and forgets them as it changes them, before and
     * after, so a removed device or a replaced token still fails at once and a new tier or
     * team counts at once. Instances that share a database cannot know of each other's
     * changes: they read.
     */
    private readonly soleWriter = false,
  ) {}

  /**
   * Records a verified account token and answers the account as it now stands: the newest
   * token seen for the user (largest `iat`) sets tier, tier expiry and team for everything
   * the user's device tokens do, on every instance. When it changes the team the user's
   * devices sync, their sockets are told to reconnect (DESIGN.md §11).
   */
  async recordAccount(token: AccountToken): Promise<Account> {
    const { teamChanged, ...account } = await this.#changing(
      token.account.userId,
      () => this.store.saveAccount(token),
    );
    if (teamChanged) await this.notifier.teamChanged(account.userId, syncedTeam(account));
    return account;
  }

  /**
   * Registers a device, or re-issues the token of the one with the same `install_id`.
   * `account` is the account as it stands (see {@link recordAccount}).
   */
  async register(
    account: Account,
    input: { name: string; platform: string; install_id?: string; app_version?: string },
  ): Promise<{ device: DeviceView; token: string }> {
    const token = TOKEN_PREFIX + encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    const limit = TIER_LIMITS[account.tier].devices;
    const outcome = await this.#changing(
      account.userId,
      () => this.store.registerDevice(account.userId, input, sha256Hex(token), limit),
    );
    if (outcome === "limit") {
      const tier = lowestTierAllowing((limits) => limits.devices > limit);
      const upgrade: Upgrade | null = tier && { tier, reason: "device_limit" };
      throw new AppError(
        "SYNC_DEVICE_LIMIT_EXCEEDED",
        `The ${account.tier} tier allows ${limit} devices`,
        { limit, tier: account.tier, upgrade },
      );
    }
    // The old token's sockets close on every instance (DESIGN.md §3).
    if (!outcome.created) await this.notifier.tokenReplaced(account.userId, outcome.device.id);
    const heads = await this.#heads(account);
    return { device: this.#view(outcome.device, account, heads), token };
  }

  /** The device a token belongs to; a deleted device's token fails at once. */
  async authenticate(token: string): Promise<DeviceIdentity & { device: DeviceRow }> {
    const hash = token.startsWith(TOKEN_PREFIX) ? sha256Hex(token) : null;
    const found = hash === null ? null : this.#remembered.get(hash) ?? await this.#lookUp(hash);
    if (!found) {
      throw new AppError("UNAUTHORIZED", "The device token is not valid or the device was removed");
    }
    const seen = found.device.last_seen_at?.getTime() ?? 0;
    if (this.clock() - seen > TOUCH_EVERY_MS) {
      await this.store.touchDevices([found.device.id]);
      // Remembered as read, it would be touched on every request from now on.
      found.device = { ...found.device, last_seen_at: new Date(this.clock()) };
    }
    return { deviceId: found.device.id, account: found.account, device: found.device };
  }

  async #lookUp(hash: string): Promise<AuthenticatedDevice | null> {
    const epoch = this.#epoch;
    const found = await this.store.findDeviceByTokenHash(hash);
    // must: not kept when a change began since the read was sent: it may predate it.
    if (found && this.soleWriter && epoch === this.#epoch) this.#remembered.set(hash, found);
    return found;
  }

  /** Runs a change to `userId`'s devices or account, forgetting their tokens before and after. */
  async #changing<T>(userId: string, change: () => Promise<T>): Promise<T> {
    this.#forget(userId);
    try {
      return await change();
    } finally {
      this.#forget(userId);
    }
  }

  #forget(userId: string): void {
    this.#epoch++;
    for (const [hash, { account }] of this.#remembered) {
      if (account.userId === userId) this.#remembered.delete(hash);
    }
  }

  /** The account's devices, each with its acknowledged cursor as the account now reads it. */
  async list(account: Account): Promise<DeviceView[]> {
    const [rows, heads] = await Promise.all([
      this.store.listDevices(account.userId),
      this.#heads(account),
    ]);
    return rows.map((row) => this.#view(row, account, heads));
  }

  async delete(userId: string, deviceId: string): Promise<void> {
    if (!(await this.#changing(userId, () => this.store.deleteDevice(userId, deviceId)))) {
      throw new AppError("NOT_FOUND", "No such device");
    }
    await this.notifier.revoked(userId, deviceId);
  }

  /** The heads of the streams the account's devices receive: its user's, and its team's. */
  async #heads(account: Account): Promise<Position> {
    const team = syncedTeam(account);
    const owners = team === null ? [account.userId] : [account.userId, teamOwner(team)];
    const heads = await this.store.heads(owners);
    return {
      user: heads.get(account.userId) ?? 0,
      team: team === null ? 0 : heads.get(teamOwner(team)) ?? 0,
    };
  }

  #view(row: DeviceRow, account: Account, heads: Position): DeviceView {
    const lastSeen = row.last_seen_at?.getTime() ?? null;
    const team = syncedTeam(account);
    return {
      id: row.id,
      name: row.name,
      platform: row.platform,
      install_id: row.install_id,
      app_version: row.app_version,
      created_at: row.created_at.getTime(),
      last_seen_at: lastSeen,
      online: lastSeen !== null && this.clock() - lastSeen < ONLINE_WINDOW_MS,
      cursor: acknowledgedCursor(row, team),
      behind: changesBetween(acknowledgedPosition(row, team), heads),
    };
  }
}

/**
 * A device's acknowledged cursor for a device of `team` (null: none): a team part of another
 * team counts nothing of this one.
 */
export function acknowledgedCursor(row: DeviceRow, team: string | null): string {
  return encodePosition(acknowledgedPosition(row, team), team);
}

function acknowledgedPosition(row: DeviceRow, team: string | null): Position {
  const teamSeq = team !== null && row.cursor_team_id === team ? row.team_cursor : 0;
  return { user: row.cursor, team: teamSeq };
}

/** True when the bearer token has the shape of a device token (account tokens are JWTs). */
export function isDeviceToken(token: string): boolean {
  return token.startsWith(TOKEN_PREFIX);
}
