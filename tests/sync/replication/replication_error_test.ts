import assert from "node:assert/strict";
import {
  isFault,
  ReplicationError,
  type ReplicationErrorKind,
  shouldRetry,
  toReplicationError,
} from "../../../sync/replication/replication_error.ts";
import { formatLsn, parseLsn } from "../../../sync/replication/lsn.ts";

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

// [what was thrown, its kind, retried, a fault /ready reports]
const CASES: Array<[unknown, ReplicationErrorKind, boolean, boolean]> = [
  [pgError("55006", 'replication slot "s" is active for PID 42'), "slot_in_use", true, false],
  [
    pgError("57P01", "terminating connection due to administrator command"),
    "connection_lost",
    true,
    false,
  ],
  [pgError("57P03", "the database system is starting up"), "connection_lost", true, false],
  [pgError("08006", "connection failure"), "connection_lost", true, false],
  [pgError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432"), "connection_lost", true, false],
  [new Error("Connection terminated unexpectedly"), "connection_lost", true, false],
  [
    pgError("55000", 'can no longer get changes from replication slot "s"'),
    "slot_lost",
    false,
    true,
  ],
  // Recreated at once by the listener, and reported until it streams again.
  [pgError("42704", 'replication slot "s" does not exist'), "slot_missing", true, true],
  [pgError("42704", 'publication "s" does not exist'), "slot_misconfigured", false, true],
  [
    pgError("55000", "logical decoding requires wal_level >= logical"),
    "slot_misconfigured",
    false,
    true,
  ],
  [pgError("42501", "permission denied to start WAL sender"), "permission_denied", false, true],
  [new ReplicationError("publish_failed", "Bus is down"), "publish_failed", true, false],
  [new ReplicationError("lock_lost", "gone"), "lock_lost", true, false],
  [new Error("something else"), "unknown", true, false],
  ["a string", "unknown", true, false],
];

for (const [error, kind, retry, fault] of CASES) {
  Deno.test(`shouldRetry() is ${retry} and isFault() ${fault} for ${kind}: ${String((error as Error).message ?? error)}`, () => {
    assert.equal(toReplicationError(error).kind, kind);
    assert.equal(shouldRetry(error), retry);
    assert.equal(isFault(error), fault);
  });
}

Deno.test("parseLsn() and formatLsn() round-trip and order like byte positions", () => {
  assert.equal(formatLsn(parseLsn("16/B374D848")), "16/B374D848");
  assert.equal(formatLsn(parseLsn("00000000/016B3748")), "0/16B3748");
  assert.equal(parseLsn("1/0") - parseLsn("0/FFFFFFFF"), 1n);
  assert.throws(() => parseLsn("nope"), /LSN must look like/);
});
