import { protocol } from "@electric-sql/pglite";

/** What one statement of a simple query answered: its command tag's first word and its rows. */
export interface StatementResult {
  command: string;
  rows: Record<string, unknown>[];
}

/** The answer to one simple query: the statements that completed, in order, and what failed. */
export interface QueryReply {
  results: StatementResult[];
  /** The server's error (a DatabaseError, with its SQLSTATE); the statements after it never ran. */
  error: Error | null;
}

/** Turns a column's text into its value, as PGlite's type parsers do. */
export type TypeParsers = Record<number, ((text: string, typeId: number) => unknown) | undefined>;

const UTF8 = new TextDecoder();
const UTF8_ENCODE = new TextEncoder();
/** Kept between calls; a reply that outgrew it gets a buffer of its own, dropped after. */
const BUFFER_BYTES = 64 * 1024;

/**
 * Reads PGlite's wire answers to simple queries straight from the bytes its WebAssembly
 * writes. PGlite's own path copies each chunk twice, slices a fresh ArrayBuffer for every
 * column value and name, builds a message object per row and then a second object per row
 * from those: about 13% of the embedded service's CPU on one-change pushes, profiled. Here
 * the bytes are copied once and each row is built once, with the same type parsers.
 *
 * Only what a simple query answers is read: RowDescription, DataRow, CommandComplete,
 * ErrorResponse (handed to PGlite's parser, so errors are the DatabaseErrors they always
 * were) and ReadyForQuery; notices and parameter changes are skipped, as the driver always
 * ignored them.
 */
export class ReplyReader {
  #buffer = new Uint8Array(BUFFER_BYTES);
  #length = 0;

  constructor(readonly parsers: TypeParsers) {}

  /** Collects a chunk of the answer (PGlite's `onRawData`; the chunk is only valid now). */
  readonly collect = (chunk: Uint8Array): void => {
    const needed = this.#length + chunk.length;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length = needed;
  };

  /** The answers to the queries of the pass just made, one per ReadyForQuery, and forgets them. */
  take(): QueryReply[] {
    const bytes = this.#buffer;
    const end = this.#length;
    this.#length = 0;
    if (bytes.length > BUFFER_BYTES) this.#buffer = new Uint8Array(BUFFER_BYTES);
    const view = new DataView(bytes.buffer, bytes.byteOffset, end);
    const replies: QueryReply[] = [];
    let results: StatementResult[] = [];
    let error: Error | null = null;
    let columns: Column[] = [];
    let rows: Record<string, unknown>[] = [];
    let at = 0;
    while (at + 5 <= end) {
      const code = bytes[at];
      const next = at + 1 + view.getInt32(at + 1);
      const body = at + 5;
      if (code === DATA_ROW) rows.push(this.#row(bytes, view, body, columns));
      else if (code === ROW_DESCRIPTION) columns = describe(bytes, view, body);
      else if (code === COMMAND_COMPLETE) {
        const tag = text(bytes, body, next - 1);
        const space = tag.indexOf(" ");
        results.push({ command: space === -1 ? tag : tag.slice(0, space), rows });
        columns = [];
        rows = [];
      } else if (code === ERROR_RESPONSE) error ??= databaseError(bytes.subarray(at, next));
      else if (code === READY_FOR_QUERY) {
        replies.push({ results, error });
        results = [];
        error = null;
        columns = [];
        rows = [];
      }
      at = next;
    }
    return replies;
  }

  #row(
    bytes: Uint8Array,
    view: DataView,
    at: number,
    columns: Column[],
  ): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    const count = view.getInt16(at);
    at += 2;
    for (let i = 0; i < count; i++) {
      const length = view.getInt32(at);
      at += 4;
      const column = columns[i];
      if (length === -1) {
        row[column.name] = null;
        continue;
      }
      const value = text(bytes, at, at + length);
      at += length;
      const parse = this.parsers[column.type];
      row[column.name] = parse ? parse(value, column.type) : value;
    }
    return row;
  }
}

/** A simple query message: `Q`, its length, the SQL text and a NUL. */
export function queryMessage(sql: string): Uint8Array {
  const text = UTF8_ENCODE.encode(sql);
  const message = new Uint8Array(text.length + 6);
  message[0] = QUERY;
  new DataView(message.buffer).setInt32(1, text.length + 5);
  message.set(text, 5);
  return message;
}

interface Column {
  name: string;
  type: number;
}

const QUERY = 0x51; // Q
const DATA_ROW = 0x44; // D
const ROW_DESCRIPTION = 0x54; // T
const COMMAND_COMPLETE = 0x43; // C
const ERROR_RESPONSE = 0x45; // E
const READY_FOR_QUERY = 0x5a; // Z

function describe(bytes: Uint8Array, view: DataView, at: number): Column[] {
  const count = view.getInt16(at);
  at += 2;
  const columns: Column[] = [];
  for (let i = 0; i < count; i++) {
    const nul = bytes.indexOf(0, at);
    const name = text(bytes, at, nul);
    // After the name: table oid (4), column number (2), type oid (4), size (2), modifier
    // (4), format (2).
    columns.push({ name, type: view.getInt32(nul + 7) });
    at = nul + 19;
  }
  return columns;
}

/**
 * UTF-8 text of `bytes[start, end)`. Short ASCII, which is most of what a push reads back
 * (names, ids, numbers, timestamps), is built in JS: a TextDecoder call costs more than that.
 */
function text(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return UTF8.decode(bytes.subarray(start, end));
  let out = "";
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte >= 0x80) return UTF8.decode(bytes.subarray(start, end));
    out += String.fromCharCode(byte);
  }
  return out;
}

function databaseError(message: Uint8Array): Error {
  let error: Error | undefined;
  new protocol.Parser().parse(message, (parsed) => error = parsed as unknown as Error);
  return error!;
}
