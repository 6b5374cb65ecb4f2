import { test } from "node:test";
import assert from "node:assert/strict";
import { ageSeconds, hasPreV131Signature, issuedAt, DAY_MS } from "./age.js";

const now = new Date(Date.UTC(2026, 10, 28, 12, 0, 0));
const FIVE_MIN = 5 * 60_000;
const daysAgo = (n: number): Date => new Date(now.getTime() - n * DAY_MS);
const inDays = (from: Date, n: number): Date => new Date(from.getTime() + n * DAY_MS);
/** A CA made long before its leaves, as on every cluster older than its first renewal. */
const caNotBefore = daysAgo(3 * 365);

// Each layout of a certificate issued 45 days ago with a validity of `days`: what kubeadm ≥ v1.31
// and renew-certs write (NotBefore = issue − 5 min), and what kubeadm < v1.31 wrote (NotBefore =
// the CA's NotBefore, NotAfter = issue + 365 days: that kubeadm had no other validity).
for (const days of [90, 365, 730]) {
  test(`a certificate issued 45 days ago with a validity of ${days} days by kubeadm v1.31+ or renew-certs is 45 days old`, () => {
    const issued = daysAgo(45);
    assert.equal(ageSeconds(new Date(issued.getTime() - FIVE_MIN), inDays(issued, days), now, caNotBefore), 45 * 86400);
  });
}

test("a certificate issued or renewed by kubeadm before v1.31 (the CA's NotBefore, NotAfter = issue + 365 days) is as old as its renewal, not its CA", () => {
  for (const ago of [0, 2, 45, 300]) {
    const issued = daysAgo(ago);
    assert.equal(issuedAt(caNotBefore, inDays(issued, 365), now, caNotBefore).getTime(), issued.getTime(), `${ago} days ago`);
  }
});

test("a leaf older than a CA certificate that was re-signed later with the same key keeps the pre-v1.31 reading", () => {
  const resignedCa = daysAgo(100);
  const issued = daysAgo(30);
  assert.equal(ageSeconds(caNotBefore, inDays(issued, 365), now, resignedCa), 30 * 86400);
});

test("a certificate capped at its CA's NotAfter is aged from its NotBefore", () => {
  const issued = daysAgo(10);
  const cappedNotAfter = inDays(now, 100);
  assert.equal(ageSeconds(new Date(issued.getTime() - FIVE_MIN), cappedNotAfter, now, caNotBefore), 10 * 86400);
});

test("a certificate renewed within 5 minutes of its CA's creation, backdated before it, is not mistaken for kubeadm's pre-v1.31 one", () => {
  const ca = daysAgo(20);
  const notBefore = new Date(ca.getTime() - 2 * 60_000); // renewed 3 minutes after the CA was made
  assert.equal(hasPreV131Signature(notBefore, ca), false);
  assert.equal(ageSeconds(notBefore, inDays(ca, 730), now, ca), 20 * 86400 - 3 * 60, "issued 3 minutes after the CA, 20 days ago");
});

test("without its CA's NotBefore a certificate is aged from its NotBefore", () => {
  assert.equal(hasPreV131Signature(daysAgo(3), undefined), false);
  assert.equal(ageSeconds(new Date(daysAgo(3).getTime() - FIVE_MIN), inDays(now, 362), now), 3 * 86400);
});

test("an issue time in the future (clock skew) is clamped to now", () => {
  assert.equal(ageSeconds(new Date(now.getTime() + DAY_MS), new Date(now.getTime() + 400 * DAY_MS), now, caNotBefore), 0);
  assert.equal(ageSeconds(caNotBefore, inDays(now, 400), now, caNotBefore), 0);
});
