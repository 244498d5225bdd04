/**
 * How far the holder's streams got: what is confirmed and when, the commit being published,
 * and whether the current stream moved at all. The listener's lag and backoff read it.
 */
export class StreamProgress {
  /** Everything before it was published and confirmed; null before the first stream. */
  confirmed: bigint | null = null;
  /** The current stream confirmed past where it started. */
  progressed = false;
  #startedAt: bigint = 0n;
  #lastConfirmAt: number | null = null;
  #inflightCommitAt: number | null = null;

  /** A stream starts from `confirmedLsn` (the slot's confirmed_flush_lsn). */
  opened(confirmedLsn: bigint): void {
    this.confirmed = this.#startedAt = confirmedLsn;
    this.progressed = false;
  }

  /** START_REPLICATION was accepted. */
  started(): void {
    this.#lastConfirmAt ??= Date.now();
  }

  /** A transaction committed at `commitTimeMs` is being published. */
  publishing(commitTimeMs: number): void {
    this.#inflightCommitAt = Math.min(commitTimeMs, Date.now());
  }

  /** Everything before `lsn` was published, and the server was told so. */
  confirmedUpTo(lsn: bigint): void {
    if (lsn > this.#startedAt) this.progressed = true;
    this.confirmed = lsn;
    this.#lastConfirmAt = Date.now();
    this.#inflightCommitAt = null;
  }

  /** The stream ended. */
  closed(): void {
    this.#inflightCommitAt = null;
  }

  /**
   * Seconds the published events are behind: the age of the commit being published, or
   * the time since the last confirm while the slot is `lagBytes` behind; null when unknown.
   */
  lagSeconds(lagBytes: number | null, now = Date.now()): number | null {
    let lag: number | null = null;
    if (this.#inflightCommitAt !== null) lag = (now - this.#inflightCommitAt) / 1000;
    else if (lagBytes !== null && lagBytes > 0 && this.#lastConfirmAt !== null) {
      lag = (now - this.#lastConfirmAt) / 1000;
    } else if (lagBytes === 0) lag = 0;
    return lag === null ? null : Math.max(0, lag);
  }
}
