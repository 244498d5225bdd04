import type { Driver } from "./driver.ts";
import type { EncodedRow, PullPage } from "../sync/sync_store.ts";

/**
 * The items of owner `u.user_id` after seq $2 in collections $3 (a JSON array), at most $4,
 * in sequence order: read along items_user_seq, so no sort.
 */
export function pageOf(columns: string): string {
  return `select ${columns} from items
    where user_id = u.user_id and seq > $2
      and collection = any(array(select jsonb_array_elements_text($3::jsonb)))
    order by seq limit $4`;
}

/** A group of a page as `pullEncodedPage` reads it: a value per column, its rows in one order. */
interface PageColumns {
  head: number;
  purged_seq: number;
  /** Comma-separated, as the numbers print. */
  seqs: string | null;
  versions: string;
  modified: string;
  /** Comma-separated uuids, empty for none. */
  devices: string;
  /** One letter a row: STATES. */
  states: string;
  /** JSON arrays of strings (authors: or null). */
  collections: string;
  ids: string;
  authors: string;
  /** Each row's data as JSON text, joined by RS (U+001E). */
  data: string;
}

const PAGE_COLUMNS =
  "seq, version, modified_at, device_id, deleted, redacted, collection, id, author, data";

/** `deleted` and `redacted` of a row, one letter each way. */
const STATES: Record<string, string> = {
  l: ',"deleted":false',
  d: ',"deleted":true',
  r: ',"deleted":false,"redacted":true',
  b: ',"deleted":true,"redacted":true',
};

/**
 * How many groups a page's rows are aggregated in, each answered as one row: on Postgres a
 * page of 1,001 rows is 20 rows of about 50 changes each.
 *
 * Why on Postgres: it builds each aggregate of a group, and copies it on its way out, as
 * one allocation; a page's data (a quarter of a megabyte) is past glibc's mmap and trim
 * thresholds, so every page mapped fresh memory and faulted it in page by page (memmove
 * and page faults were half of the backend's time). Groups of about 50 rows stay in the
 * heap the server reuses (10 pages: 55-60 to 16-18 ms of the server's CPU), and 20 rows
 * still cost the driver little to decode. By `seq` modulo: a page's rows fall evenly in at
 * most this many groups however sparse its sequence numbers are.
 *
 * Why not on PGlite: its memory is a WebAssembly heap that never shrinks, so one group
 * faults nothing, and the sort a grouping needs cost it more (10 pages: 36-50 ms of CPU in
 * one group, 45-82 ms in 20).
 */
const PAGE_GROUPS: Record<Driver["kind"], number> = { postgres: 20, pglite: 1 };

/**
 * A page of `owner`'s changes after `since` (PullPage of EncodedRow), the head and the
 * compaction horizon read in the same statement. The database answers a row for each group
 * of the page's changes (PAGE_GROUPS), one value per column, and this writes each change's
 * JSON around its data's text (`toPulledChange`: the same keys in the same order, `redacted`
 * and `author` only when set).
 *
 * Why so: a row costs a driver far more to decode than its bytes do (PGlite: 10 pages of
 * 1,001 rows in 115 ms, as one row each in 42 ms), and the change's JSON written by SQL,
 * a dozen text concatenations and to_json calls a row, was most of the statement (10 pages:
 * 33 ms on PGlite, 28 ms on Postgres; one value per column, 23 and 19 ms).
 *
 * Data is joined by RS, which JSON text cannot hold raw (its strings escape every control
 * character); the strings that may hold anything travel as JSON arrays; the rest are
 * numbers, uuids and letters.
 */
export async function pullEncodedPage(
  db: Pick<Driver, "kind" | "query">,
  owner: string,
  since: number,
  collections: readonly string[],
  limit: number,
): Promise<PullPage<EncodedRow>> {
  // No aggregate orders its input: they all see a group's rows in the same order, and the
  // sort below puts the page in sequence order (`order by` in each aggregate had Postgres
  // sort each). The owner's row comes back once with null columns when nothing is past
  // `since`, and not at all for an owner never seen.
  const groupCount = PAGE_GROUPS[db.kind];
  const groups = await db.query<PageColumns>(
    `select u.seq as head, u.purged_seq, p.* from users u left join lateral (
       select string_agg(seq::text, ',') as seqs, string_agg(version::text, ',') as versions,
         string_agg(modified_at::text, ',') as modified,
         string_agg(coalesce(device_id::text, ''), ',') as devices,
         string_agg(case when deleted then (case when redacted then 'b' else 'd' end)
           when redacted then 'r' else 'l' end, '') as states,
         json_agg(collection)::text as collections, json_agg(id)::text as ids,
         json_agg(author)::text as authors,
         string_agg(coalesce(data::text, 'null'), chr(30)) as data
       from (${pageOf(PAGE_COLUMNS)}) i
       ${groupCount > 1 ? `group by seq % ${groupCount}` : ""}) p on true
     where u.user_id = $1`,
    [owner, since, JSON.stringify(collections), limit],
  );
  const [first] = groups;
  if (!first) return { rows: [], head: 0, purgedSeq: 0 };
  const rows = first.seqs === null ? [] : groups.flatMap(encodeRows);
  // must: sequence order (see above).
  rows.sort((a, b) => a.seq - b.seq);
  return { rows, head: first.head, purgedSeq: first.purged_seq };
}

/** A group's changes, in the order the database aggregated them. */
function encodeRows(page: PageColumns): EncodedRow[] {
  const seqs = page.seqs!.split(",");
  const versions = page.versions.split(",");
  const modified = page.modified.split(",");
  const devices = page.devices.split(",");
  const collections: string[] = JSON.parse(page.collections);
  const ids: string[] = JSON.parse(page.ids);
  const authors: (string | null)[] = JSON.parse(page.authors);
  const data = page.data.split("\x1e");
  return seqs.map((seq, n) => {
    const device = devices[n] === "" ? "null" : `"${devices[n]}"`;
    const author = authors[n];
    return {
      seq: Number(seq),
      json: `{"collection":${JSON.stringify(collections[n])},"id":${
        JSON.stringify(ids[n])
      },"version":${versions[n]},"data":${data[n]}${STATES[page.states[n]]},"modified_at":${
        modified[n]
      },"device_id":${device}${author === null ? "" : `,"author":${JSON.stringify(author)}`}`,
    };
  });
}
