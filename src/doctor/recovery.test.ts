import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { annotateManifest } from "../manifests/annotate.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { renewCertificates } from "../renewal/renew.js";
import { memoryLogger } from "../log/logger.js";
import type { SystemdHost } from "../host/systemd.js";
import { SOURCES_NOT_READY } from "../run/fallback.js";
import { runDoctor } from "./doctor.js";
import { stuckLines } from "./recovery.js";

const noSystemd: SystemdHost = { controls: () => false, systemctl: () => Promise.resolve({ status: 1, stdout: "", stderr: "" }), checkCalendar: () => Promise.resolve({ valid: "unknown", message: "" }) };
const MANIFEST = "etc/kubernetes/manifests/kube-apiserver.yaml";

/** An expired control plane whose kubelet started after the expiry, and a restart it cannot carry out. */
async function stuckHost(t: Parameters<typeof simulatedHost>[0]) {
  const h = await simulatedHost(t, { ageDays: 400, until: "started" });
  await annotateManifest(join(h.root, MANIFEST), DEFAULT_SETTINGS.annotationKey, "1796170000.000000");
  for (const until = Date.now() + 60_000; !h.kubelet.log.some((l) => l.includes(SOURCES_NOT_READY));) {
    if (Date.now() > until) throw new Error("the kubelet double never logged that it is stuck");
    await new Promise((r) => setTimeout(r, 50));
  }
  return h;
}

test("doctor recognises an expired control plane with its kubelet stuck on sources aren't ready, and prints the one command: renew-certs run", async (t) => {
  const h = await stuckHost(t);
  const report = await runDoctor({ root: h.root, systemd: noSystemd, api: () => Promise.resolve(undefined) });
  const f = report.findings.find((x) => x.check === "control plane down");
  assert.ok(f, report.findings.map((x) => x.check).join(", "));
  assert.equal(f.severity, "FAIL");
  assert.match(f.detail, /^nothing answers at 127\.0\.0\.1:\d+ \(kube-apiserver is down\); 11 certificate\(s\) expired .*; the kubelet's client certificate expired on .*; the kubelet logs "skipping delete because sources aren't ready yet"/);
  assert.equal(f.fix, "renew-certs run");
});

test("doctor on renewed certificates with the kubelet still stuck: the one command is systemctl restart kubelet", async (t) => {
  const h = await stuckHost(t);
  await renewCertificates({ root: h.root, names: ["all"], log: memoryLogger() });
  // The kubelet's own certificate, renewed the way run would (here by hand: renew leaves it alone).
  const { reissueKubeletClient } = await import("../renewal/kubelet-client.js");
  const { scanInventory } = await import("../inventory/scan.js");
  await reissueKubeletClient({ inv: await scanInventory(h.root), nodeName: "cp-1", now: new Date(), validityDays: 365, backupDir: join(h.root, "var/lib/renew-certs/backups"), backupsKept: 10, log: memoryLogger() });
  const report = await runDoctor({ root: h.root, systemd: noSystemd, api: () => Promise.resolve(undefined) });
  const f = report.findings.find((x) => x.check === "control plane down");
  assert.equal(f?.fix, "systemctl restart kubelet", JSON.stringify(report.findings));
  assert.doesNotMatch(f.detail, /expired/);
});

test("a kubelet restarted since it logged sources aren't ready is not stuck", () => {
  const stuck = `E1202 00:00:01.000000 1 kubelet.go:0] "Failed to delete pod" pod="kube-system/kube-apiserver-cp-1" err="${SOURCES_NOT_READY}"`;
  assert.deepEqual(stuckLines([stuck]), [stuck]);
  assert.deepEqual(stuckLines([stuck, `I1202 00:00:02.000000 1 kubelet.go:0] "Starting kubelet"`]), []);
});

test("doctor says the kubelet runs while it answers its healthz, and that it does not once stopped, with the command that starts it", async (t) => {
  const h = await simulatedHost(t, { ageDays: 10 });
  const kubeletFinding = async () => (await runDoctor({ root: h.root, systemd: noSystemd, api: () => Promise.resolve(undefined) })).findings.find((x) => x.check === "kubelet");
  assert.equal((await kubeletFinding())?.severity, "OK");
  await h.kubelet.stopService();
  const f = await kubeletFinding();
  assert.equal(f?.severity, "FAIL");
  assert.match(f.detail, /^not running \(http:\/\/127\.0\.0\.1:\d+\/healthz: connection refused\): nothing restarts the control plane's static pods, and renew-certs run refuses to start \(exit 16\)$/);
  assert.equal(f.fix, "systemctl start kubelet");
});
