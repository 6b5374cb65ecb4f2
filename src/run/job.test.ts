import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { simulatedHost } from "../../test/support/simulated.js";
import type { BehaviourFn } from "../simulator/kubelet.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { readManifest } from "../manifests/manifest.js";
import { RenewCertsError } from "../errors.js";
import { exitCodeFor } from "../cli/exit-codes.js";
import { parseExposition } from "./metrics.js";
import { runJob, type RunJobOptions } from "./job.js";
import { readRunRecord } from "./state.js";
import type { Coordinator } from "./coordinator.js";
import { scanInventory } from "../inventory/scan.js";
import { loadCa } from "../renewal/material.js";
import { issueCertificate, extensionsOf, subjectDer, OID } from "../pki/sign.js";
import { withRenewedCredentials } from "../kubeconfig/kubeconfig.js";
import { privateKeyPem } from "../pki/keys.js";

const DAY = 86_400_000;
const KEY = DEFAULT_SETTINGS.annotationKey;
const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 20 };
const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const fast = { intervalMs: 50 } as const;

/** The control plane's own files: what a rollback must leave byte-identical. */
function controlPlane(s: Awaited<ReturnType<typeof snapshot>>): Map<string, string> {
  return new Map([...s].filter(([p]) => p.startsWith("etc/") || p.startsWith("root/")).map(([p, f]) => [p, `${f.mode.toString(8)}:${f.bytes}`]));
}

const host = (t: Parameters<typeof copySandbox>[0], ageDays: number, behaviour?: BehaviourFn, frozen?: boolean) =>
  simulatedHost(t, { ageDays, ...(behaviour ? { behaviour } : {}), ...(frozen ? { frozen } : {}) });

const fails = (o: RunJobOptions): Promise<RenewCertsError> => runJob(o).then(() => assert.fail("the run succeeded"), (e: unknown) => {
  assert.ok(e instanceof RenewCertsError, String(e));
  return e;
});

const healthyLines = (log: ReturnType<typeof memoryLogger>) => log.lines.filter((l) => /healthy/.test(l.msg) && !/not healthy|unhealthy/.test(l.msg) && l.level !== "error");

test("a due run renews, restarts each component once in order, proves each a new process by the certificate it made at its start, and writes metrics", async (t) => {
  const { root, kubelet } = await host(t, 300);
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, ...fast });
  await kubelet.settled();
  assert.equal(outcome.kind, "renewed");
  assert.equal(outcome.kind === "renewed" && outcome.renewed.length, 11);
  assert.deepEqual(outcome.kind === "renewed" && outcome.steps.map((s) => [s.component, s.proven?.by]), [
    ["kube-apiserver", "loopback certificate"], ["kube-controller-manager", "serving certificate"], ["kube-scheduler", "serving certificate"],
  ]);
  assert.deepEqual(kubelet.order, COMPONENTS);
  for (const c of COMPONENTS) {
    assert.equal(kubelet.restarts(c), 1, c);
    assert.match((await readManifest(join(root, "etc/kubernetes/manifests", `${c}.yaml`))).annotations[KEY] ?? "", /^\d{10}\.\d{6}$/);
    assert.ok(log.lines.some((l) => l.msg === `${c}: new process proven by its ${c === "kube-apiserver" ? "loopback" : "serving"} certificate`), c);
  }
  assert.equal(kubelet.restarts("etcd"), 0);
  const metrics = parseExposition(await readFile(join(root, settings.metricsFile), "utf8"));
  assert.equal(metrics.samples.find((s) => s.name === "renew_certs_last_run_success")?.value, 1);
  assert.ok(log.lines.some((l) => /^renewed and healthy: 11 certificate\(s\); 3 component\(s\) restarted and proven new/.test(l.msg)));
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined, "the record is gone");
  // Run twice in a row: the second is not due.
  assert.equal((await runJob({ root, settings, log, ...fast })).kind, "not-due");
});

test("renewed files and a kubelet that restarts nothing: no word of health on the renewed certificates; the rollback finds kube-apiserver still the process from before the renewal, on the previous files, and ends at once with exit 7", async (t) => {
  const { root, kubelet } = await host(t, 300, undefined, true);
  const before = controlPlane(await snapshot(root));
  const log = memoryLogger();
  // No fallback within the wait: a kubelet that never acts, and nothing else restarts kube-apiserver.
  const err = await fails({ root, settings: { ...settings, healthTimeoutSeconds: 2, fallbackAfterSeconds: 600 }, log, ...fast });
  assert.equal(err.code, "ROLLED_BACK", err.message);
  assert.equal(exitCodeFor(err.code), 7);
  assert.match(err.message, /^kube-apiserver: still the process started \d\d:\d\d:\d\d \(loopback certificate unchanged\).* 2 s after its manifest changed/);
  assert.match(err.message, /Rolled back: .*kube-apiserver, never replaced by the kubelet, was proven still the process from before the renewal \(not restarted\), healthy on the previous certificates/);
  assert.deepEqual(healthyLines(log).filter((l) => /renewed/.test(l.msg)).map((l) => l.msg), [], "no line claims health on the renewed certificates");
  const kept = log.lines.filter((l) => /^kube-apiserver: still the process that ran before the renewal \(loopback certificate [0-9A-F:]{23}…, started \S+Z\): it runs the previous files; not restarted$/.test(l.msg));
  assert.equal(kept.length, 1, log.lines.map((l) => l.msg).join("\n"));
  // A rollback that waited for a restart would have ended ROLLBACK_FAILED (exit 8): the frozen kubelet never restarts anything.
  assert.ok(!log.lines.some((l) => /not restarted by the kubelet|restarting the kubelet/.test(l.msg)), "no fallback");
  assert.equal(kubelet.restarts("kube-apiserver"), 0);
  assert.deepEqual(controlPlane(await snapshot(root)), before, "every file and manifest as before");
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined, "the rollback is reported and the record gone");
});

test("a component that never comes back is rolled back: every file byte-identical to before, each restarted component proven on the previous certificates, exit code 7", async (t) => {
  // The controller manager fails after the renewal's restart and comes back after the rollback's.
  const { root, kubelet } = await host(t, 300, (c, _start, m) => (c === "kube-controller-manager" && m.annotations[KEY] ? "down" : "healthy"));
  const before = controlPlane(await snapshot(root));
  const log = memoryLogger();
  // The controller manager's wait always runs out (12 s); the others are proven well within it.
  const err = await fails({ root, settings: { ...settings, healthTimeoutSeconds: 12 }, log, ...fast });
  await kubelet.settled();
  assert.equal(err.code, "ROLLED_BACK");
  assert.equal(exitCodeFor(err.code), 7);
  assert.match(err.message, /^kube-controller-manager: .* 12 s after its manifest changed.*\. Rolled back: every renewed file and manifest was restored from .*, and kube-apiserver, kube-controller-manager were proven restarted and healthy on the previous certificates/);
  assert.deepEqual(controlPlane(await snapshot(root)), before, "certificates, kubeconfigs and manifests are as before");
  assert.equal(kubelet.restarts("kube-apiserver"), 2, "restarted onto the new files, then onto the old ones");
  assert.equal(kubelet.restarts("kube-controller-manager"), 2);
  assert.equal(kubelet.restarts("kube-scheduler"), 0, "never touched");
  assert.ok(log.lines.some((l) => l.msg === "kube-apiserver: healthy on the previous certificates"));
  const metrics = parseExposition(await readFile(join(root, settings.metricsFile), "utf8"));
  assert.equal(metrics.samples.find((s) => s.name === "renew_certs_last_run_success")?.value, 0);
  assert.equal(metrics.samples.find((s) => s.name === "renew_certs_last_renewal_timestamp_seconds"), undefined, "a rolled-back renewal is no renewal");
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined);
});

test("a run that is not due changes nothing but the metrics file", async (t) => {
  const { root, kubelet } = await host(t, 10);
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
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 364 });
  const before = controlPlane(await snapshot(root));
  const log = memoryLogger();
  const outcome = await runJob({ root, settings: { ...settings, certificateRenewInterval: 0 }, log });
  assert.equal(outcome.kind, "disabled");
  assert.equal(log.lines.filter((l) => l.level !== "debug").length, 1);
  assert.deepEqual(controlPlane(await snapshot(root)), before);
});

test("a static pod manifest that does not parse stops a due run before the first write, with exit code 4", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  await writeFile(join(root, "etc/kubernetes/manifests/kube-scheduler.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: [\n");
  const before = await snapshot(root);
  const err = await fails({ root, settings, log: memoryLogger() });
  assert.equal(exitCodeFor(err.code), 4);
  assert.match(err.message, /static pod manifest .*kube-scheduler\.yaml is not valid YAML/);
  const after = await snapshot(root);
  after.delete(settings.metricsFile.slice(1)); // the failed run's metrics: its only output
  assert.deepEqual([...after.keys()].filter((k) => !before.has(k)), [], "nothing written: no backup, no state, no certificate");
  assert.deepEqual(after, before);
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

/** A coordinator whose lease is refused, or lost after `lostAfter` restarts. */
function coordinator(o: { refuse?: boolean; lostAfter?: number; events: string[] }): Coordinator & { restarts: number } {
  const c = {
    restarts: 0,
    acquire: () => o.refuse
      ? Promise.reject(new RenewCertsError("LEASE_TIMEOUT", "gave up after 1 s waiting before the restart: another control-plane host holds the renew-certs lease (cp-2)"))
      : Promise.resolve({ release: () => Promise.resolve(), lost: () => (o.lostAfter !== undefined && ++c.restarts > o.lostAfter ? "another control-plane host holds the renew-certs lease now (cp-2)" : undefined) }),
    event: (reason: string) => { o.events.push(reason); return Promise.resolve(); },
  };
  return c;
}

test("a run that cannot get the restart lease exits 9 with the renewal done, and the next run restarts without renewing again", async (t) => {
  const { root, kubelet } = await host(t, 300);
  const events: string[] = [];
  const err = await fails({ root, settings, log: memoryLogger(), ...fast, coordinator: coordinator({ refuse: true, events }) });
  assert.equal(err.code, "LEASE_TIMEOUT");
  assert.equal(kubelet.order.length, 0, "nothing restarted");
  assert.equal((await readRunRecord(join(root, "var/lib/renew-certs")))?.phase, "renewed");
  const renewedSerial = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt"))).serialNumber;
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, ...fast, coordinator: coordinator({ events }) });
  await kubelet.settled();
  assert.equal(outcome.kind === "renewed" && outcome.resumed, true);
  assert.equal(new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt"))).serialNumber, renewedSerial, "not renewed a second time");
  assert.deepEqual(kubelet.order, COMPONENTS);
  assert.ok(log.lines.some((l) => /^the last run stopped while certificates renewed at .*, no component restarted yet: this run will restart the control plane onto them and prove it$/.test(l.msg)));
  assert.deepEqual(events, ["CertificateRenewalFailed", "CertificatesRenewed"]);
  assert.equal((await runJob({ root, settings, log: memoryLogger(), coordinator: coordinator({ events }) })).kind, "not-due");
});

test("a lease lost after the first restart stops the run before the next one, naming the holder, and the next run resumes from there", async (t) => {
  const { root, kubelet } = await host(t, 300);
  const events: string[] = [];
  const err = await fails({ root, settings, log: memoryLogger(), ...fast, coordinator: coordinator({ lostAfter: 1, events }) });
  assert.equal(exitCodeFor(err.code), 9);
  assert.match(err.message, /^stopped before restarting kube-controller-manager: another control-plane host holds the renew-certs lease now \(cp-2\)\. The certificates are renewed on disk and the components restarted so far are proven; the next run resumes the restarts$/);
  await kubelet.settled();
  assert.deepEqual(kubelet.order, ["kube-apiserver"]);
  const record = await readRunRecord(join(root, "var/lib/renew-certs"));
  assert.deepEqual([record?.phase, record?.steps.map((s) => s.component)], ["proven", ["kube-apiserver"]]);
  const outcome = await runJob({ root, settings, log: memoryLogger(), ...fast, coordinator: coordinator({ events }) });
  await kubelet.settled();
  assert.equal(outcome.kind === "renewed" && outcome.resumed, true);
  assert.deepEqual(kubelet.order, COMPONENTS, "the apiserver was not restarted again");
});
