/**
 * Log sequence numbers: Postgres writes them as two hex halves (`16/B374D848`); as a
 * bigint they compare and subtract like the byte positions they are.
 * @example formatLsn(parseLsn("16/B374D848")) === "16/B374D848"
 */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) throw new Error(`LSN must look like "16/B374D848": got "${text}"`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** The Postgres text form of an LSN, as `pg_replication_slots` shows it. */
export function formatLsn(lsn: bigint): string {
  const hi = (lsn >> 32n).toString(16).toUpperCase();
  const lo = (lsn & 0xffffffffn).toString(16).toUpperCase();
  return `${hi}/${lo}`;
}
