// restartMode minimal against the simulator's doubles: what is restarted, what is left running and
// how its reload is proven, the planned restart for kube-apiserver's loopback certificate, the
// restart when a reload does not happen, the rollback, and the API's availability throughout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { snapshot } from "../../test/support/sandbox.js";
import { simulatedHost } from "../../test/support/simulated.js";
import type { BehaviourFn } from "../simulator/kubelet.js";
import { watchLivez } from "../simulator/availability.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { readManifest } from "../manifests/manifest.js";
import { RenewCertsError } from "../errors.js";
import { exitCodeFor } from "../cli/exit-codes.js";
import { servedIdentity } from "../kube/tls.js";
import { runJob } from "./job.js";
import { readRunRecord } from "./state.js";
import { LOOPBACK_SERVER_NAME } from "./identity.js";

const KEY = DEFAULT_SETTINGS.annotationKey;
const minimal: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 60, restartMode: "minimal" };
const fast = { intervalMs: 50 } as const;
const manifestOf = (root: string, c: string) => readManifest(join(root, "etc/kubernetes/manifests", `${c}.yaml`));
const apiserverAt = async (root: string) => (await manifestOf(root, "kube-apiserver")).advertiseEndpoint;
const loopbackOf = async (root: string) => (await servedIdentity(await apiserverAt(root), { servername: LOOPBACK_SERVER_NAME })).fingerprint;

function controlPlane(s: Awaited<ReturnType<typeof snapshot>>): Map<string, string> {
  return new Map([...s].filter(([p]) => p.startsWith("etc/") || p.startsWith("root/")).map(([p, f]) => [p, `${f.mode.toString(8)}:${f.bytes}`]));
}

test("restart mode minimal leaves the API answering throughout the run while all does not: kube-apiserver reloads (same loopback certificate, no annotation), the others restart, each decision logged with its reason", async (t) => {
  const [a, b] = await Promise.all([simulatedHost(t, { ageDays: 300 }), simulatedHost(t, { ageDays: 300 })]);
  const loopbackBefore = await loopbackOf(a.root);
  const log = memoryLogger();
  const watch = watchLivez(await apiserverAt(a.root));
  const outcome = await runJob({ root: a.root, settings: minimal, log, ...fast });
  const seen = await watch.stop();
  await a.kubelet.settled();
  assert.equal(outcome.kind, "renewed");
  assert.ok(seen.ok > 20, `the watch probed (${seen.ok} answers)`);
  assert.equal(seen.failed, 0, `/livez never failed during the minimal run (first failure: ${seen.firstFailure})`);
  assert.equal(a.kubelet.restarts("kube-apiserver"), 0);
  assert.deepEqual(a.kubelet.order, ["kube-controller-manager", "kube-scheduler"]);
  assert.equal(await loopbackOf(a.root), loopbackBefore, "the same kube-apiserver process");
  assert.equal((await manifestOf(a.root, "kube-apiserver")).annotations[KEY], undefined, "no restart annotation on what was not restarted");
  for (const c of ["kube-controller-manager", "kube-scheduler"]) assert.match((await manifestOf(a.root, c)).annotations[KEY] ?? "", /^\d{10}\.\d{6}$/, c);
  assert.deepEqual(outcome.kind === "renewed" && outcome.steps.map((s) => [s.component, s.kind ?? "restart", s.proven?.by]), [
    ["kube-apiserver", "reload", "reload"], ["kube-controller-manager", "restart", "serving certificate"], ["kube-scheduler", "restart", "serving certificate"],
  ]);
  const served = (await servedIdentity(await apiserverAt(a.root))).fingerprint;
  assert.equal(served, new X509Certificate(await readFile(join(a.root, "etc/kubernetes/pki/apiserver.crt"))).fingerprint256, "it serves the renewed apiserver.crt");
  const msgs = log.lines.map((l) => l.msg);
  assert.ok(msgs.some((m) => /^kube-apiserver: reload \(restart mode minimal\): kube-apiserver v1\.31\.4 re-reads its serving certificate .*; its loopback certificate expires on \d{4}-\d\d-\d\d, after the next renewal plus the margin/.test(m)), msgs.join("\n"));
  assert.ok(msgs.some((m) => /^kube-controller-manager: restart \(restart mode minimal\): kube-controller-manager v1\.31\.4 keeps the client certificate embedded in its kubeconfig/.test(m)));
  assert.ok(msgs.some((m) => m === "kube-apiserver: reloaded the renewed certificates, proven by what it serves"));
  assert.ok(msgs.some((m) => /^kube-apiserver: not observable from outside, known by version \(v1\.31\.4\): it re-reads the kubelet client certificate/.test(m)));
  assert.ok(msgs.some((m) => /^renewed and healthy: 11 certificate\(s\); 2 component\(s\) restarted and proven new: .*; 1 not restarted, proven to run the renewed certificates by what they serve: kube-apiserver$/.test(m)), msgs.join("\n"));

  // The same renewal with restart mode all: the API goes down while kube-apiserver restarts.
  const watchAll = watchLivez(await apiserverAt(b.root));
  await runJob({ root: b.root, settings: { ...minimal, restartMode: "all" }, log: memoryLogger(), ...fast });
  const seenAll = await watchAll.stop();
  await b.kubelet.settled();
  assert.equal(b.kubelet.restarts("kube-apiserver"), 1);
  assert.ok(seenAll.failed > 0 && seenAll.longestOutageMs > 0, `restart mode all: /livez failed while kube-apiserver restarted (${seenAll.failed} failures)`);
  t.diagnostic(`longest window without /livez: minimal ${seen.longestOutageMs.toFixed(0)} ms, all ${seenAll.longestOutageMs.toFixed(0)} ms`);
});

test("restart mode minimal restarts kube-apiserver when its loopback certificate expires before the next renewal plus the margin, and says so", async (t) => {
  // Made at its start, valid 80 days: the next renewal (60 days) plus the margin (30) is later.
  const { root, kubelet } = await simulatedHost(t, { ageDays: 300, sim: { loopbackValidityDays: 80 } });
  const log = memoryLogger();
  const outcome = await runJob({ root, settings: minimal, log, ...fast });
  await kubelet.settled();
  assert.equal(kubelet.restarts("kube-apiserver"), 1);
  assert.deepEqual(outcome.kind === "renewed" && outcome.steps.map((s) => [s.component, s.kind ?? "restart", s.proven?.by]), [
    ["kube-apiserver", "restart", "loopback certificate"], ["kube-controller-manager", "restart", "serving certificate"], ["kube-scheduler", "restart", "serving certificate"],
  ]);
  assert.ok(log.lines.some((l) => /^kube-apiserver: restart \(restart mode minimal\): kube-apiserver: its loopback certificate, made in memory at its start, expires on \d{4}-\d\d-\d\d, before the next renewal is due plus the safety margin \(\d{4}-\d\d-\d\d\): planned restart$/.test(l.msg)), log.lines.map((l) => l.msg).join("\n"));
});

test("restart mode minimal: a kube-apiserver that does not reload in time is restarted and proven a new process, never left on the old certificate", async (t) => {
  const { root, kubelet } = await simulatedHost(t, { ageDays: 300, sim: { apiserverReloads: false } });
  const log = memoryLogger();
  // It never reloads: the wait for the reload always runs out (12 s), then the restart is proven
  // within as long (under a second here, three on a machine three times slower).
  const outcome = await runJob({ root, settings: { ...minimal, healthTimeoutSeconds: 12 }, log, ...fast });
  await kubelet.settled();
  assert.equal(outcome.kind, "renewed");
  assert.equal(kubelet.restarts("kube-apiserver"), 1);
  assert.deepEqual(outcome.kind === "renewed" && outcome.steps.map((s) => [s.component, s.kind ?? "restart", s.proven?.by]), [
    ["kube-apiserver", "restart", "loopback certificate"], ["kube-controller-manager", "restart", "serving certificate"], ["kube-scheduler", "restart", "serving certificate"],
  ]);
  assert.ok(log.lines.some((l) => l.level === "warn" && /^kube-apiserver did not serve the renewed certificates within 12 s without a restart: .*serves another certificate than the renewed one.*: restarting it instead$/.test(l.msg)), log.lines.map((l) => l.msg).join("\n"));
  assert.match((await manifestOf(root, "kube-apiserver")).annotations[KEY] ?? "", /^\d{10}\.\d{6}$/, "restarted through the annotation");
  const served = (await servedIdentity(await apiserverAt(root))).fingerprint;
  assert.equal(served, new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt"))).fingerprint256);
  assert.ok(!log.lines.some((l) => /reloaded the renewed/.test(l.msg)), "no line claims a reload");
});

test("restart mode minimal rolls back a component that never comes back: every file as before, kube-apiserver proven to serve the previous certificates without a restart, exit code 7", async (t) => {
  const behaviour: BehaviourFn = (c, _start, m) => (c === "kube-controller-manager" && m.annotations[KEY] ? "down" : "healthy");
  const { root, kubelet } = await simulatedHost(t, { ageDays: 300, behaviour });
  const before = controlPlane(await snapshot(root));
  const loopbackBefore = await loopbackOf(root);
  const log = memoryLogger();
  const watch = watchLivez(await apiserverAt(root));
  // The controller manager's wait always runs out (12 s); the others are proven well within it.
  const err = await runJob({ root, settings: { ...minimal, healthTimeoutSeconds: 12 }, log, ...fast }).then(() => assert.fail("the run succeeded"), (e: unknown) => e as RenewCertsError);
  const seen = await watch.stop();
  await kubelet.settled();
  assert.equal(exitCodeFor(err.code), 7, err.message);
  assert.match(err.message, /Rolled back: .*, and kube-controller-manager was proven restarted and healthy, and kube-apiserver \(not restarted\) was proven to serve them on the previous certificates/);
  assert.deepEqual(controlPlane(await snapshot(root)), before, "certificates, kubeconfigs and manifests are as before");
  assert.equal(kubelet.restarts("kube-apiserver"), 0);
  assert.equal(await loopbackOf(root), loopbackBefore);
  assert.equal(seen.failed, 0, `the API answered throughout, the rollback included (${seen.firstFailure})`);
  assert.ok(log.lines.some((l) => l.msg === "kube-apiserver: reloaded the previous certificates, proven by what it serves"));
  const previous = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt"))).fingerprint256;
  assert.equal((await servedIdentity(await apiserverAt(root))).fingerprint, previous);
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined);
});

test("restart mode minimal: when kube-apiserver does not reload the previous files in the rollback either, it is restarted onto them, and the message says so", async (t) => {
  const behaviour: BehaviourFn = (c, _start, m) => (c === "kube-controller-manager" && m.annotations[KEY] ? "down" : "healthy");
  // It takes the renewed certificate, never the previous one back: only a restart brings it onto them.
  const { root, kubelet } = await simulatedHost(t, { ageDays: 300, behaviour, sim: { apiserverReloads: "newer-only" } });
  const before = controlPlane(await snapshot(root));
  const loopbackBefore = await loopbackOf(root);
  const log = memoryLogger();
  // The reload of the previous files is waited for the whole health timeout (it never comes), then the restart.
  const err = await runJob({ root, settings: minimal, log, ...fast }).then(() => assert.fail("the run succeeded"), (e: unknown) => e as RenewCertsError);
  await kubelet.settled();
  assert.equal(exitCodeFor(err.code), 7, err.message);
  // Not "every renewed file and manifest was restored" nor "proven restarted" alone: what really happened.
  assert.match(err.message, new RegExp(String.raw`^kube-controller-manager: .*\. Rolled back: every renewed file was restored from \S+, and every manifest but kube-apiserver's, which now carries the restart annotation konvoy\.d2iq\.io\/restartedAt; kube-controller-manager was proven restarted and healthy, and kube-apiserver did not reload them within ${minimal.healthTimeoutSeconds} s, so it was restarted and proven healthy on the previous certificates; they still expire as before`));
  assert.equal(kubelet.restarts("kube-apiserver"), 1, "restarted by the rollback, not by the renewal");
  assert.notEqual(await loopbackOf(root), loopbackBefore);
  const previous = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt"))).fingerprint256;
  assert.equal((await servedIdentity(await apiserverAt(root))).fingerprint, previous, "it serves the previous apiserver.crt");
  const after = controlPlane(await snapshot(root));
  const changed = [...after].filter(([p, f]) => before.get(p) !== f).map(([p]) => p);
  assert.deepEqual(changed, ["etc/kubernetes/manifests/kube-apiserver.yaml"], "every file as before but kube-apiserver's manifest, which carries the restart annotation");
  assert.match((await manifestOf(root, "kube-apiserver")).annotations[KEY] ?? "", /^\d{10}\.\d{6}$/);
  assert.ok(!log.lines.some((l) => l.msg === "kube-apiserver: reloaded the previous certificates, proven by what it serves"), "no line claims a reload of the previous files");
  assert.ok(log.lines.some((l) => l.level === "warn" && new RegExp(`^kube-apiserver did not serve the previous certificates within ${minimal.healthTimeoutSeconds} s without a restart: .*: restarting it instead$`).test(l.msg)), log.lines.map((l) => l.msg).join("\n"));
});

test("restart mode minimal: when kube-apiserver neither reloads the previous files nor comes back from its restart onto them, the failed rollback says it was restarted (exit 8)", async (t) => {
  // kube-controller-manager never comes back on the renewed files; kube-apiserver, restarted only by the rollback, never comes back either.
  const behaviour: BehaviourFn = (c, _start, m) => ((c === "kube-controller-manager" || c === "kube-apiserver") && m.annotations[KEY] ? "down" : "healthy");
  const { root, kubelet } = await simulatedHost(t, { ageDays: 300, behaviour, sim: { apiserverReloads: "newer-only" } });
  const err = await runJob({ root, settings: minimal, log: memoryLogger(), ...fast }).then(() => assert.fail("the run succeeded"), (e: unknown) => e as RenewCertsError);
  await kubelet.settled();
  assert.equal(exitCodeFor(err.code), 8, err.message);
  assert.match(err.message, /^kube-controller-manager: .*\. The previous files were restored from \S+ \(kube-apiserver did not reload them, and was restarted by the restart annotation\), but the control plane did not come back healthy on them either: kube-apiserver: /);
});
