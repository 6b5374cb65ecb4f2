import { test } from "node:test";
import assert from "node:assert/strict";
import { ageSeconds, issuedAt, DAY_MS } from "./age.js";

const now = new Date(Date.UTC(2026, 10, 28, 12, 0, 0));
const days = (n: number): Date => new Date(now.getTime() - n * DAY_MS);

test("a certificate issued by kubeadm v1.31+ N days ago is N days old", () => {
  const issued = days(45);
  const age = ageSeconds(new Date(issued.getTime() - 5 * 60_000), new Date(issued.getTime() + 365 * DAY_MS), now);
  assert.equal(age, 45 * 86400);
});

test("a certificate renewed by kubeadm before v1.31 (CA's NotBefore, fresh NotAfter) is as old as its renewal, not its CA", () => {
  const caNotBefore = days(3 * 365);
  const renewed = days(2);
  assert.equal(issuedAt(caNotBefore, new Date(renewed.getTime() + 365 * DAY_MS), now).getTime(), renewed.getTime());
});

test("a certificate capped at its CA's NotAfter is aged from its NotBefore", () => {
  const issued = days(10);
  const cappedNotAfter = new Date(now.getTime() + 100 * DAY_MS);
  assert.equal(ageSeconds(new Date(issued.getTime() - 5 * 60_000), cappedNotAfter, now), 10 * 86400);
});

test("an issue time in the future (clock skew) is clamped to now", () => {
  assert.equal(ageSeconds(new Date(now.getTime() + DAY_MS), new Date(now.getTime() + 400 * DAY_MS), now), 0);
});
