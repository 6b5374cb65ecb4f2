import { test } from "node:test";
import assert from "node:assert/strict";
import { checkInterval, decideDue, notDueMessage, wouldRunSummary, type CertWindow, type DuePolicy } from "./due.js";
import { DAY_MS } from "./age.js";
import { RenewCertsError } from "../errors.js";

const now = new Date(Date.UTC(2026, 10, 28, 12, 0, 0));
const policy: DuePolicy = { certificateRenewInterval: 60, safetyMarginDays: 30, validityDays: 365 };
const FIVE_MIN = 5 * 60_000;

/** A PKI as kubeadm ≥ v1.31 (or renew-certs) writes it, issued `days` ago. */
function pki(days: number, names = ["apiserver", "admin.conf", "etcd-server"]): CertWindow[] {
  const issued = now.getTime() - days * DAY_MS;
  return names.map((name) => ({ name, notBefore: new Date(issued - FIVE_MIN), notAfter: new Date(issued + 365 * DAY_MS) }));
}

const cases: { name: string; certs: CertWindow[]; policy?: Partial<DuePolicy>; due: boolean; kinds?: string[] }[] = [
  { name: "a PKI issued interval − 1 days ago is not due", certs: pki(59), due: false },
  { name: "a PKI issued exactly interval days ago is due", certs: pki(60), due: true, kinds: ["older-than-interval"] },
  { name: "a PKI issued a year and a half ago has expired and is due", certs: pki(550), due: true, kinds: ["expired"] },
  {
    name: "a PKI just renewed by kubeadm before v1.31 (the CA's NotBefore years ago, NotAfter = now + 365 days) is not due",
    certs: ["apiserver", "admin.conf"].map((name) => ({ name, notBefore: new Date(now.getTime() - 3 * 365 * DAY_MS), notAfter: new Date(now.getTime() + 365 * DAY_MS), caNotBefore: new Date(now.getTime() - 3 * 365 * DAY_MS) })),
    due: false,
  },
  {
    name: "a PKI renewed by kubeadm before v1.31 sixty days ago is due by age",
    certs: [{ name: "apiserver", notBefore: new Date(now.getTime() - 3 * 365 * DAY_MS), notAfter: new Date(now.getTime() + 305 * DAY_MS), caNotBefore: new Date(now.getTime() - 3 * 365 * DAY_MS) }],
    due: true, kinds: ["older-than-interval"],
  },
  {
    name: "a certificate renewed with a validity of 730 days, 61 days ago, is due by age (not 0 days old for a year)",
    certs: [{ name: "apiserver", notBefore: new Date(now.getTime() - 61 * DAY_MS - FIVE_MIN), notAfter: new Date(now.getTime() + 669 * DAY_MS), caNotBefore: new Date(now.getTime() - 3 * 365 * DAY_MS) }],
    policy: { validityDays: 730 }, due: true, kinds: ["older-than-interval"],
  },
  {
    name: "a young certificate that expires within the margin (capped at its CA) is due",
    certs: [{ name: "front-proxy-client", notBefore: new Date(now.getTime() - 2 * DAY_MS), notAfter: new Date(now.getTime() + 20 * DAY_MS) }],
    due: true, kinds: ["expires-within-margin"],
  },
  { name: "one old certificate among young ones makes the run due", certs: [...pki(10), ...pki(70, ["scheduler.conf"])], due: true, kinds: ["older-than-interval"] },
  { name: "an interval of 0 disables renewal even for expired certificates", certs: pki(400), policy: { certificateRenewInterval: 0 }, due: false },
  {
    name: "certificates renewed with a shorter configured validity are aged from their NotBefore",
    certs: [{ name: "apiserver", notBefore: new Date(now.getTime() - 100 * DAY_MS - FIVE_MIN), notAfter: new Date(now.getTime() + 80 * DAY_MS) }],
    policy: { validityDays: 180 }, due: true, kinds: ["older-than-interval"],
  },
  { name: "no renewable certificates is not due", certs: [], due: false },
];

for (const c of cases) {
  test(c.name, () => {
    const d = decideDue(c.certs, { ...policy, ...c.policy }, now);
    assert.equal(d.due, c.due);
    if (c.kinds) assert.deepEqual([...new Set(d.reasons.map((r) => r.kind))], c.kinds);
    else assert.deepEqual(d.reasons, []);
  });
}

test("the oldest certificate and the due date are reported: issued 45 days ago, due in 15 days", () => {
  const d = decideDue([...pki(10), ...pki(45, ["etcd-peer"])], policy, now);
  assert.deepEqual(d.oldest && { name: d.oldest.name, ageDays: d.oldest.ageDays }, { name: "etcd-peer", ageDays: 45 });
  assert.equal(d.dueDate?.toISOString(), new Date(now.getTime() + 15 * DAY_MS).toISOString());
  assert.equal(notDueMessage(d, policy), "not due: the oldest certificate, etcd-peer, is 45 days old; the interval is 60 days; renewal is due on 2026-12-13");
});

test("the due date comes from the margin when that is earlier than the interval", () => {
  const d = decideDue([{ name: "apiserver", notBefore: new Date(now.getTime() - DAY_MS), notAfter: new Date(now.getTime() + 40 * DAY_MS) }], policy, now);
  assert.equal(d.due, false);
  assert.equal(d.dueDate?.toISOString(), new Date(now.getTime() + 10 * DAY_MS).toISOString());
});

test("a disabled policy says so in its one line", () => {
  const d = decideDue(pki(10), { ...policy, certificateRenewInterval: 0 }, now);
  assert.equal(d.disabled, true);
  assert.match(notDueMessage(d, policy), /disabled \(certificate-renew-interval is 0\)/);
});

test("the interval is rejected when negative, not whole, or not shorter than validity − 7 days", () => {
  for (const bad of [-1, 1.5, Number.NaN, 358, 400]) {
    assert.throws(() => checkInterval({ ...policy, certificateRenewInterval: bad }, "/etc/renew-certs/config.yaml"), (e: unknown) => e instanceof RenewCertsError && e.code === "CONFIG" && e.message.includes("/etc/renew-certs/config.yaml"), String(bad));
  }
  for (const good of [0, 1, 60, 357]) checkInterval({ ...policy, certificateRenewInterval: good }, "--certificate-renew-interval");
});

test("what run would do is one line however many certificates are due: how many, why, and the oldest", () => {
  const names = ["admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client", "controller-manager.conf", "etcd-healthcheck-client", "etcd-peer", "etcd-server", "front-proxy-client", "scheduler.conf"];
  const certs = [...pki(300, names), ...pki(310, ["super-admin.conf"])];
  const d = decideDue(certs, policy, now);
  assert.equal(wouldRunSummary(d, policy, certs.length), "renew 11 certificates now (11 at least 60 days old; oldest: super-admin.conf, 310 days)");
});

test("what run would do names expired certificates and those within the margin apart from old ones", () => {
  const certs = [...pki(400, ["apiserver"]), ...pki(350, ["etcd-peer"]), ...pki(70, ["scheduler.conf"]), ...pki(5, ["admin.conf"])];
  const d = decideDue(certs, policy, now);
  assert.equal(wouldRunSummary(d, policy, 4), "renew 4 certificates now (1 expired, 1 expire within 30 days, 1 at least 60 days old; oldest: apiserver, 400 days)");
});

test("what run would do when nothing is due, renewal is disabled, or there is nothing to renew", () => {
  assert.equal(wouldRunSummary(decideDue(pki(45), policy, now), policy, 3), "do nothing yet: the oldest certificate, apiserver, is 45 days old; the interval is 60 days; renewal is due on 2026-12-13");
  assert.equal(wouldRunSummary(decideDue(pki(400), { ...policy, certificateRenewInterval: 0 }, now), policy, 3), "do nothing: renewal is disabled (certificateRenewInterval is 0)");
  assert.equal(wouldRunSummary(decideDue([], policy, now), policy, 0), "do nothing: no renewable certificates found");
});
