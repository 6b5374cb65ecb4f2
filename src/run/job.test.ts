import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { assignFreePorts } from "../../test/doubles/ports.js";
import { kubeletDoubleFor, type BehaviourFn } from "../../test/doubles/kubelet.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { readManifest } from "../manifests/manifest.js";
import { RenewCertsError } from "../errors.js";
import { parseExposition } from "./metrics.js";
import { runJob } from "./job.js";
import { scanInventory } from "../inventory/scan.js";
import { loadCa } from "../renewal/material.js";
import { issueCertificate, extensionsOf, subjectDer, OID } from "../pki/sign.js";
import { withRenewedCredentials } from "../kubeconfig/kubeconfig.js";
import { privateKeyPem } from "../pki/keys.js";
import { createPrivateKey } from "node:crypto";

const DAY = 86_400_000;
const KEY = DEFAULT_SETTINGS.annotationKey;
const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 20 };
const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/** The control plane's own files: what a rollback must leave byte-identical. */
function controlPlane(s: Awaited<ReturnType<typeof snapshot>>): Map<string, string> {
  return new Map([...s].filter(([p]) => p.startsWith("etc/") || p.startsWith("root/")).map(([p, f]) => [p, `${f.mode.toString(8)}:${f.bytes}`]));
}

async function hostWithDoubles(t: Parameters<typeof copySandbox>[0], ageDays: number, behaviour?: BehaviourFn) {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays });
  await assignFreePorts(root);
  const kubelet = await kubeletDoubleFor(t, { root, ...(behaviour ? { behaviour } : {}) });
  return { root, kubelet };
}

test("a due run renews, restarts each component once in order, proves health, annotates and writes metrics", async (t) => {
  const { root, kubelet } = await hostWithDoubles(t, 300);
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, intervalMs: 100 });
  await kubelet.settled();
  assert.equal(outcome.kind, "renewed");
  assert.equal(outcome.kind === "renewed" && outcome.renew.renewed.length, 11);
  assert.deepEqual(kubelet.order, COMPONENTS);
  for (const c of COMPONENTS) {
    assert.equal(kubelet.restarts(c), 1, c);
    assert.match((await readManifest(join(root, "etc/kubernetes/manifests", `${c}.yaml`))).annotations[KEY] ?? "", /^\d{10}\.\d{6}$/);
  }
  assert.equal(kubelet.restarts("etcd"), 0);
  const metrics = parseExposition(await readFile(join(root, settings.metricsFile), "utf8"));
  assert.equal(metrics.samples.find((s) => s.name === "renew_certs_last_run_success")?.value, 1);
  assert.ok(metrics.samples.some((s) => s.name === "renew_certs_last_renewal_timestamp_seconds"));
  assert.ok(log.lines.some((l) => /^renewed and healthy: 11 certificate\(s\), 3 component\(s\) restarted/.test(l.msg)));
  // Run twice in a row: the second is not due.
  const again = await runJob({ root, settings, log, intervalMs: 100 });
  assert.equal(again.kind, "not-due");
});

test("a component that never comes back is rolled back: every file byte-identical to before, exit code 7", async (t) => {
  // The controller manager fails after the renewal's restart and comes back after the rollback's.
  const { root, kubelet } = await hostWithDoubles(t, 300, (c, start) => (c === "kube-controller-manager" && start === 1 ? "down" : "healthy"));
  const before = controlPlane(await snapshot(root));
  const log = memoryLogger();
  const err = await runJob({ root, settings: { ...settings, healthTimeoutSeconds: 3 }, log, intervalMs: 100 }).then(() => undefined, (e: unknown) => e);
  await kubelet.settled();
  assert.ok(err instanceof RenewCertsError, String(err));
  assert.equal(err.code, "ROLLED_BACK");
  const { exitCodeFor } = await import("../cli/exit-codes.js");
  assert.equal(exitCodeFor(err.code), 7);
  assert.match(err.message, /^kube-controller-manager did not become healthy within 3 s of its restart .*Rolled back: every renewed file and manifest was restored/);
  assert.deepEqual(controlPlane(await snapshot(root)), before, "certificates, kubeconfigs and manifests are as before");
  assert.equal(kubelet.restarts("kube-apiserver"), 2, "restarted onto the new files, then onto the old ones");
  assert.equal(kubelet.restarts("kube-controller-manager"), 2);
  assert.equal(kubelet.restarts("kube-scheduler"), 0, "never touched");
  const metrics = parseExposition(await readFile(join(root, settings.metricsFile), "utf8"));
  assert.equal(metrics.samples.find((s) => s.name === "renew_certs_last_run_success")?.value, 0);
});

test("a run that is not due changes nothing but the metrics file", async (t) => {
  const { root, kubelet } = await hostWithDoubles(t, 10);
  const before = controlPlane(await snapshot(root));
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log });
  assert.equal(outcome.kind, "not-due");
  assert.equal(log.lines.filter((l) => l.level === "info").length, 1);
  assert.match(log.lines[0]!.msg, /not due/);
  assert.deepEqual(controlPlane(await snapshot(root)), before);
  assert.equal(kubelet.order.length, 0);
});

test("an interval of 0 disables renewal: one line, nothing changes", async (t) => {
  const { root, kubelet } = await hostWithDoubles(t, 364);
  const before = controlPlane(await snapshot(root));
  const log = memoryLogger();
  const outcome = await runJob({ root, settings: { ...settings, certificateRenewInterval: 0 }, log });
  assert.equal(outcome.kind, "disabled");
  assert.equal(log.lines.filter((l) => l.level !== "debug").length, 1);
  assert.deepEqual(controlPlane(await snapshot(root)), before);
  assert.equal(kubelet.order.length, 0);
});

test("a PKI renewed by kubeadm before v1.31 (CA's NotBefore, fresh NotAfter) is not due", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 700 % 365 });
  // Re-issue every leaf the way kubeadm < v1.31 renewed: NotBefore = the CA's NotBefore, NotAfter = now + 365 days.
  const inv = await scanInventory(root);
  for (const leaf of inv.leaves) {
    const ca = await loadCa(leaf.ca);
    const caNotBefore = new Date(ca.cert.notBefore.getTime() - 2 * 365 * DAY);
    const key = leaf.kubeconfig ? createPrivateKey(leaf.kubeconfig.clientKey?.kind === "data" ? leaf.kubeconfig.clientKey.pem : "") : createPrivateKey(await readFile(leaf.keyFile));
    const pem = await issueCertificate({ subject: subjectDer(leaf.cert!), key, issuer: { cert: ca.cert, key: ca.key }, notBefore: caNotBefore, notAfter: new Date(Date.now() + 365 * DAY), extensions: extensionsOf(leaf.cert!).filter((e) => e.type !== OID.authorityKeyIdentifier) });
    if (leaf.kubeconfig) await writeFile(leaf.kubeconfig.file, await withRenewedCredentials(leaf.kubeconfig, pem, privateKeyPem(key), ca.pem));
    else await writeFile(leaf.certFile, pem);
  }
  const apiserver = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt")));
  assert.ok(Date.now() - new Date(apiserver.validFrom).getTime() > 365 * DAY, "NotBefore alone says more than a year old");
  const before = controlPlane(await snapshot(root));
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log });
  assert.equal(outcome.kind, "not-due", log.lines.map((l) => l.msg).join("\n"));
  assert.deepEqual(controlPlane(await snapshot(root)), before);
});

test("--dry-run on a due host shows the plan and writes nothing", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  const before = await snapshot(root);
  const outcome = await runJob({ root, settings, log: memoryLogger(), dryRun: true });
  assert.equal(outcome.kind, "dry-run");
  assert.equal(outcome.kind === "dry-run" && outcome.manifests.length, 3);
  assert.deepEqual(await snapshot(root), before);
});

test("a run that cannot get the restart lease exits 9 with the renewal done, and the next run restarts without renewing again", async (t) => {
  const { root, kubelet } = await hostWithDoubles(t, 300);
  const events: string[] = [];
  const busy = {
    acquire: () => Promise.reject(new RenewCertsError("LEASE_TIMEOUT", "another control-plane host holds the renew-certs lease (cp-2)")),
    event: (reason: string) => { events.push(reason); return Promise.resolve(); },
  };
  const err = await runJob({ root, settings, log: memoryLogger(), intervalMs: 100, coordinator: busy }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof RenewCertsError && err.code === "LEASE_TIMEOUT", String(err));
  assert.equal(kubelet.order.length, 0, "nothing restarted");
  const renewedSerial = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt"))).serialNumber;
  const free = { acquire: () => Promise.resolve({ release: () => Promise.resolve() }), event: (reason: string) => { events.push(reason); return Promise.resolve(); } };
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, intervalMs: 100, coordinator: free });
  await kubelet.settled();
  assert.equal(outcome.kind, "renewed");
  assert.equal(new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt"))).serialNumber, renewedSerial, "not renewed a second time");
  assert.deepEqual(kubelet.order, COMPONENTS);
  assert.ok(log.lines.some((l) => /are not loaded yet \(the last run could not restart\): restarting the control plane now/.test(l.msg)));
  assert.deepEqual(events, ["CertificateRenewalFailed", "CertificatesRenewed"]);
  assert.equal((await runJob({ root, settings, log: memoryLogger(), coordinator: free })).kind, "not-due");
});

test("a rollback killed half-way is finished by the next run: the whole previous set comes back", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  const before = controlPlane(await snapshot(root));
  const { renewCertificates, lockAndRecover, stateDirOf } = await import("../renewal/renew.js");
  const { openBackup } = await import("../renewal/backup.js");
  const { writeIntent } = await import("../renewal/intent.js");
  const renew = await renewCertificates({ root, names: ["all"], log: memoryLogger() });
  const { dir, index } = await openBackup(join(root, settings.backupDir), renew.backup!);
  const files = index.files.filter((f) => !f.path.startsWith("etc/kubernetes/manifests/"));
  // What rollBack records before restoring; then only the first two files get their old bytes back.
  await writeIntent(stateDirOf(root), { started: new Date().toISOString(), backup: dir, files: files.map((f) => ({ path: f.path, newSha256: f.sha256 })) });
  for (const f of files.slice(0, 2)) await writeFile(join(root, f.path), await readFile(join(dir, "files", f.path)));
  const { lock, recovery } = await lockAndRecover(root, memoryLogger());
  await lock.release();
  assert.equal(recovery.action, "restored");
  assert.deepEqual(controlPlane(await snapshot(root)), before);
});
