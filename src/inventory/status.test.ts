import { test } from "node:test";
import assert from "node:assert/strict";
import { copySandbox, sharedSandbox } from "../../test/support/sandbox.js";
import { cli } from "../../test/support/cli.js";
import { scanInventory } from "./scan.js";
import { buildStatus } from "./status.js";
import { checkCas } from "../doctor/checks.js";
import { certificateMetrics, renderMetrics, parseExposition, METRICS } from "../run/metrics.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import type { DoctorContext } from "../doctor/checks.js";

const DAY = 86_400_000;
const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;

test("a CA within the safety margin, or expired, is said loudly in status, doctor and the metrics, with what to do", async () => {
  const inv = await scanInventory(await sharedSandbox(ec));
  const ca = inv.cas.find((c) => c.spec.name === "ca")!.cert!.notAfter;
  const soon = new Date(ca.getTime() - 20 * DAY);
  const warnings = buildStatus(inv, soon).warnings.filter((w) => w.startsWith("CA "));
  assert.deepEqual(warnings.map((w) => w.split(" ")[1]), ["ca", "etcd-ca", "front-proxy-ca"], "the sandbox's three CAs expire together");
  assert.match(warnings[0]!, /^CA ca EXPIRES in 20 days, within the safety margin of 30 days: every certificate it signs is capped at \S+ and renewed again each day until then; re-sign the CA now: renew-certs ca renew ca$/);
  assert.equal(buildStatus(inv, soon, 10).warnings.some((w) => w.startsWith("CA ")), false, "a margin of 10 days: not yet");
  const after = buildStatus(inv, new Date(ca.getTime() + DAY)).warnings.filter((w) => w.startsWith("CA "));
  assert.match(after.join("\n"), /^CA ca EXPIRED on \S+Z: renew-certs refuses to renew the certificates it signs until it is re-signed with its own key: renew-certs ca renew ca$/m);
  const context = (now: Date): DoctorContext => ({ root: inv.root, settings: DEFAULT_SETTINGS, inv, now, systemd: { controls: () => false, systemctl: () => Promise.reject(new Error("unused")), checkCalendar: () => Promise.reject(new Error("unused")) }, api: undefined });
  const doctor = checkCas(context(soon)).find((f) => f.check === "CA ca")!;
  assert.equal(doctor.severity, "FAIL");
  assert.match(doctor.detail, /within the safety margin of 30 days/);
  assert.match(doctor.fix, /manual-rotation-of-ca-certificates/);
  assert.equal(checkCas(context(new Date(ca.getTime() + DAY))).find((f) => f.check === "CA ca")!.severity, "FAIL");
  const metrics = parseExposition(renderMetrics({ certificates: certificateMetrics(inv), runAt: soon, success: true, renewedAt: undefined }));
  assert.deepEqual(metrics.samples.filter((s) => s.name === METRICS.caExpiry).map((s) => s.labels["name"]).sort(), ["ca", "etcd-ca", "front-proxy-ca"]);
});

test("status ages a certificate renewed for 730 days from its renewal, and one capped at its CA's NotAfter too", async (t) => {
  const root = await copySandbox(t, ec);
  for (const days of ["730", "3650"]) {
    const r = cli(["renew", "apiserver", "--validity-days", days, "--root", root]);
    assert.equal(r.status, 0, r.stderr);
    const inv = await scanInventory(root);
    const later = new Date(Date.now() + 100 * DAY);
    const row = buildStatus(inv, later).certificates.find((c) => c.name === "apiserver")!;
    assert.equal(Math.floor(row.age / 86400), 100, `--validity-days ${days}: 100 days after the renewal it is 100 days old`);
    assert.equal(buildStatus(inv, later).certificates.find((c) => c.name === "admin.conf")!.age >= 400 * 86400, true, "the others keep their age");
  }
});
