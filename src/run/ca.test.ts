// `run` and the certificate authorities: a CA within caRenewBeforeDays is re-signed with its own
// key before the leaves, and what reads it once at start is restarted (trust-locations.ts); a
// control plane whose CAs and leaves have expired is brought back by one run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { apiserverBackedOff, simulatedHost, untilSourcesReady } from "../../test/support/simulated.js";
import { needTools, run } from "../../test/support/tools.js";
import { snapshot } from "../../test/support/sandbox.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { runJob } from "./job.js";
import { readRunRecord } from "./state.js";
import { caRestarts } from "../ca/run-step.js";
import { readCaRecord } from "../ca/record.js";
import { previousCannotWork } from "./still-down.js";
import type { RunRecord } from "./state.js";

const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 60, fallbackAfterSeconds: 1 };
const fast = { intervalMs: 50 } as const;
const PKI = "etc/kubernetes/pki";
const CA_FILES = { ca: "ca.crt", "etcd-ca": "etcd/ca.crt", "front-proxy-ca": "front-proxy-ca.crt" } as const;
/** Every leaf of each CA on a sandbox, as files openssl reads. */
const LEAVES: Record<string, string[]> = {
  "ca.crt": ["apiserver.crt", "apiserver-kubelet-client.crt"],
  "etcd/ca.crt": ["etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt", "apiserver-etcd-client.crt"],
  "front-proxy-ca.crt": ["front-proxy-client.crt"],
};
const x509 = async (root: string, file: string): Promise<X509Certificate> => new X509Certificate(await readFile(join(root, PKI, file)));

test("what a renewed CA restarts: the controller-manager, the scheduler and the kubelet for ca; etcd, then kube-apiserver, for etcd-ca; nothing for front-proxy-ca", () => {
  assert.deepEqual(caRestarts(["ca"]), { components: ["kube-controller-manager", "kube-scheduler"], kubelet: true });
  assert.deepEqual(caRestarts(["etcd-ca"]), { components: ["etcd", "kube-apiserver"], kubelet: false });
  // Every reader of front-proxy-ca re-reads its file (--requestheader-client-ca-file).
  assert.deepEqual(caRestarts(["front-proxy-ca"]), { components: [], kubelet: false });
});

test("never a rollback onto a CA certificate that has expired or expires within the safety margin", () => {
  const now = new Date("2030-01-01T00:00:00Z");
  const r = (previousNotAfter: string): RunRecord => ({
    job: "run", phase: "restarting", started: now.toISOString(), backup: "b", renewed: [], apiserver: { renewed: "", previous: undefined }, restart: [], steps: [],
    cas: [{ ca: "etcd-ca", fingerprint256: "f", previousNotAfter, deadline: previousNotAfter }],
  });
  assert.match(previousCannotWork(r("2029-12-31T00:00:00Z"), now, 30) ?? "", /previous certificate of CA etcd-ca expired on 2029-12-31/);
  assert.match(previousCannotWork(r("2030-01-10T00:00:00Z"), now, 30) ?? "", /expires on 2030-01-10.*within the safety margin of 30 days/);
  assert.equal(previousCannotWork(r("2030-06-01T00:00:00Z"), now, 30), undefined, "a CA valid past the margin may be rolled back onto");
});

test("CAs within caRenewBeforeDays, leaves not due: run re-signs the three CAs with their own keys, renews no leaf, restarts etcd then kube-apiserver, the controller-manager, the scheduler and the kubelet, each proven, and every old leaf verifies against the new CAs", async (t) => {
  if (!needTools(t, "openssl")) return;
  const { root } = await simulatedHost(t, { caAgeDays: 3400 });
  const before = await snapshot(root);
  const old = Object.fromEntries(await Promise.all(Object.entries(CA_FILES).map(async ([ca, f]) => [ca, await x509(root, f)] as const)));
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, ...fast });
  assert.equal(outcome.kind, "renewed");
  if (outcome.kind !== "renewed") return;
  assert.deepEqual(outcome.cas, ["ca", "etcd-ca", "front-proxy-ca"]);
  assert.deepEqual(outcome.renewed, [], "no leaf renewed: none was due");
  assert.deepEqual(outcome.steps.map((s) => [s.component, Boolean(s.proven)]),
    [["etcd", true], ["kube-apiserver", true], ["kube-controller-manager", true], ["kube-scheduler", true]]);
  assert.ok(log.lines.some((l) => /^restarting the kubelet so that it reads the renewed CA ca/.test(l.msg)), "the kubelet restarted for kubelet.conf");
  assert.ok(log.lines.some((l) => /etcd has one member, so this restart is the only API downtime of the renewal/.test(l.msg)), "a single member's downtime is said");
  assert.ok(log.lines.some((l) => /^the kubelet was restarted and answers its healthz/.test(l.msg)), "proven by its healthz");
  assert.ok(!log.lines.some((l) => /rolling back/.test(l.msg)));
  for (const [ca, f] of Object.entries(CA_FILES)) {
    const now = await x509(root, f);
    const was = old[ca]!;
    assert.notEqual(now.serialNumber, was.serialNumber, `${ca}: a new serial`);
    assert.ok(now.publicKey.export({ type: "spki", format: "der" }).equals(was.publicKey.export({ type: "spki", format: "der" })), `${ca}: the same key`);
    assert.ok(Date.parse(now.validTo) > Date.now() + 3000 * 86_400_000, `${ca}: valid ten years`);
    assert.equal((await readCaRecord(root, ca as keyof typeof CA_FILES))?.deadline, new Date(was.validTo).toISOString(), `${ca}: the deadline is the old NotAfter`);
  }
  // Every leaf is as it was, and chains to the re-signed CA (OpenSSL).
  for (const [ca, leaves] of Object.entries(LEAVES)) {
    for (const l of leaves) assert.equal(before.get(`${PKI}/${l}`)?.bytes, (await snapshot(root)).get(`${PKI}/${l}`)?.bytes, `${l} unchanged`);
    const v = run("openssl", ["verify", "-CAfile", join(root, PKI, ca), ...leaves.map((l) => join(root, PKI, l))]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  }
  assert.ok(log.lines.some((l) => /kubectl config set clusters\.kubernetes\.certificate-authority-data/.test(l.msg)), "the command for users' kubeconfigs");
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined, "the run is finished");
  // The next run has nothing to do.
  assert.equal((await runJob({ root, settings, log: memoryLogger(), ...fast })).kind, "not-due");
});

test("a control plane whose CAs expired 50 days ago and whose leaves expired 35 days ago is brought back by one run: CAs re-signed, leaves renewed, the kubelet fallbacks, no rollback", async (t) => {
  if (!needTools(t, "openssl")) return;
  const { root, kubelet } = await simulatedHost(t, { ageDays: 400, caAgeDays: 3700, until: "started", behaviour: apiserverBackedOff });
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, ...fast });
  assert.equal(outcome.kind, "renewed");
  if (outcome.kind !== "renewed") return;
  assert.deepEqual(outcome.cas, ["ca", "etcd-ca", "front-proxy-ca"]);
  assert.ok(outcome.renewed.includes("apiserver") && outcome.renewed.includes("etcd-server"), "the leaves renewed too");
  assert.ok(outcome.steps.every((s) => s.proven), "every component proven");
  assert.ok(!log.lines.some((l) => /rolling back/.test(l.msg)), "no rollback");
  await untilSourcesReady(kubelet); // the kubelet reaches the API server again
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-ca-run-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [ca, leaves] of Object.entries(LEAVES)) {
    const v = run("openssl", ["verify", "-CAfile", join(root, PKI, ca), ...leaves.map((l) => join(root, PKI, l))]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  }
  const kc = new X509Certificate(await readFile(join(root, "var/lib/kubelet/pki/kubelet-client-current.pem")));
  assert.ok(kc.verify((await x509(root, "ca.crt")).publicKey) && Date.parse(kc.validTo) > Date.now(), "the kubelet's client certificate re-issued");
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined, "the run is finished");
});
