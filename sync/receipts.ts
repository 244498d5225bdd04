import type { ItemReceipts } from "./api_schemas.ts";
import { isCollection } from "./collections.ts";
import { encodePosition } from "./cursor.ts";
import { acknowledgedCursor } from "./device_service.ts";
import { AppError } from "./errors.ts";
import type { DeviceRow, SyncStore } from "./sync_store.ts";
import { isTeamOwner, ownerOf, syncedTeam } from "./teams.ts";
import type { Account } from "./tiers.ts";

/** A device that receives an owner's stream, and the position it acknowledged in it. */
export interface ReceivingDevice {
  device: DeviceRow;
  acknowledged: number;
}

/** What receipts and `behind` read besides items (db/receipts_sql.ts). */
export interface ReceiptsStore {
  /** The head of each owner's stream (a user's, or a team's owner key); 0 when none yet. */
  heads(owners: readonly string[]): Promise<Map<string, number>>;
  /**
   * The devices that receive `owner`'s stream: a user's own, or every seen device of a
   * team's members; with what each acknowledged of that stream, counted exactly as tombstone
   * compaction counts it.
   */
  receivingDevices(owner: string): Promise<ReceivingDevice[]>;
}

/**
 * Delete receipts (DESIGN.md §10): which devices have applied an item's latest version (a
 * delete included), read from their acknowledged cursors. A device has applied it once
 * the position it acknowledged in the item's owner's stream is at or past the item's, or
 * when it wrote that version.
 */
export class ReceiptsService {
  constructor(private readonly store: Pick<SyncStore, "getItem"> & ReceiptsStore) {}

  /**
   * The receipts of one item of the account's (its team's, for `team_ssh_profiles`). An
   * unknown collection, an unknown id and another user's or team's item are all 404.
   */
  async forItem(account: Account, collection: string, id: string): Promise<ItemReceipts> {
    if (!isCollection(collection)) throw notFound();
    const owner = ownerOf(collection, account);
    const item = await this.store.getItem(owner, collection, id);
    if (!item) throw notFound();
    const team = syncedTeam(account);
    const position = isTeamOwner(owner) ? { user: 0, team: item.seq } : { user: item.seq, team: 0 };
    const devices = await this.store.receivingDevices(owner);
    return {
      item: {
        collection,
        id,
        version: item.version,
        deleted: item.deleted,
        cursor: encodePosition(position, team),
      },
      devices: devices.map(({ device, acknowledged }) => ({
        id: device.id,
        name: device.name,
        // The device that wrote the latest version holds it before it acknowledges anything.
        applied: acknowledged >= item.seq || device.id === item.device_id,
        cursor: acknowledgedCursor(device, team),
        last_seen_at: device.last_seen_at?.getTime() ?? null,
      })),
    };
  }
}

function notFound(): AppError {
  return new AppError("NOT_FOUND", "No such item");
}
