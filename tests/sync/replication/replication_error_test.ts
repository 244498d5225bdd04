import assert from "node:assert/strict";
import {
  ReplicationError,
  type ReplicationErrorKind,
  shouldRetry,
  toReplicationError,
} from "../../../sync/replication/replication_error.ts";
import { formatLsn, parseLsn } from "../../../sync/replication/lsn.ts";

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

const CASES: Array<[unknown, ReplicationErrorKind, boolean]> = [
  [pgError("55006", 'replication slot "s" is active for PID 42'), "slot_in_use", true],
  [
    pgError("57P01", "terminating connection due to administrator command"),
    "connection_lost",
    true,
  ],
  [pgError("57P03", "the database system is starting up"), "connection_lost", true],
  [pgError("08006", "connection failure"), "connection_lost", true],
  [pgError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432"), "connection_lost", true],
  [new Error("Connection terminated unexpectedly"), "connection_lost", true],
  [pgError("55000", 'can no longer get changes from replication slot "s"'), "slot_lost", false],
  [pgError("42704", 'replication slot "s" does not exist'), "slot_missing", false],
  [pgError("42704", 'publication "s" does not exist'), "slot_misconfigured", false],
  [pgError("55000", "logical decoding requires wal_level >= logical"), "slot_misconfigured", false],
  [pgError("42501", "permission denied to start WAL sender"), "permission_denied", false],
  [new ReplicationError("publish_failed", "Bus is down"), "publish_failed", true],
  [new ReplicationError("lock_lost", "gone"), "lock_lost", true],
  [new Error("something else"), "unknown", true],
  ["a string", "unknown", true],
];

for (const [error, kind, retry] of CASES) {
  Deno.test(`shouldRetry() is ${retry} for ${kind}: ${String((error as Error).message ?? error)}`, () => {
    assert.equal(toReplicationError(error).kind, kind);
    assert.equal(shouldRetry(error), retry);
  });
}

Deno.test("parseLsn() and formatLsn() round-trip and order like byte positions", () => {
  assert.equal(formatLsn(parseLsn("16/B374D848")), "16/B374D848");
  assert.equal(formatLsn(parseLsn("00000000/016B3748")), "0/16B3748");
  assert.equal(parseLsn("1/0") - parseLsn("0/FFFFFFFF"), 1n);
  assert.throws(() => parseLsn("nope"), /LSN must look like/);
});
