import assert from "node:assert/strict";
import { settledWithin, TIMED_OUT } from "../../sync/time_limit.ts";
import { sleep } from "../support/eventually.ts";

Deno.test("settledWithin() answers the value in time, and leaves no timer behind (the test's sanitizer checks)", async () => {
  assert.equal(await settledWithin(Promise.resolve(7), 1_000), 7);
});

Deno.test("settledWithin() answers TIMED_OUT when the time is up first", async () => {
  const late = sleep(200).then(() => "late");
  assert.equal(await settledWithin(late, 20), TIMED_OUT);
  await late;
});

Deno.test("settledWithin() throws a failure in time; one after the time is up is absorbed, not unhandled", async () => {
  await assert.rejects(settledWithin(Promise.reject(new Error("refused")), 1_000), /refused/);
  const failsLate = sleep(50).then(() => {
    throw new Error("too late");
  });
  assert.equal(await settledWithin(failsLate, 10), TIMED_OUT);
  // The test fails on an unhandled rejection if the late failure escaped.
  await sleep(100);
});
