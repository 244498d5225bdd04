import pg from "pg";

/** The pg client settings the listener's connections share. */
export type SessionConfig = pg.ClientConfig;

/**
 * Settings for one of the listener's connections. TCP keepalives run on both ends, so a
 * peer that vanished without closing (a paused VM, a cut network) is noticed within
 * about `deadPeerMs`: by the server, which then ends the session and frees what it held
 * (the holder lock, the slot), and by this process.
 *
 * @example new pg.Client(sessionConfig(url, "devpocket-sync-replication-lock", 10_000))
 */
export function sessionConfig(
  databaseUrl: string,
  applicationName: string,
  deadPeerMs: number,
): SessionConfig {
  const idle = Math.max(1, Math.round(deadPeerMs / 3_000));
  const interval = Math.max(1, Math.round(deadPeerMs / 6_000));
  return {
    connectionString: databaseUrl,
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: idle * 1_000,
    options:
      `-c tcp_keepalives_idle=${idle} -c tcp_keepalives_interval=${interval} -c tcp_keepalives_count=3`,
  };
}

/** Runs `work` on a connection of its own, closed afterwards whatever happens. */
export async function withSession<T>(
  config: SessionConfig,
  work: (session: pg.Client) => Promise<T>,
): Promise<T> {
  const session = new pg.Client(config);
  // An 'error' event without a listener would crash the process; the query reports it.
  session.on("error", () => {});
  try {
    await session.connect();
    return await work(session);
  } finally {
    await session.end().catch(() => {});
  }
}
