// Issue 24's end to end: a control plane and two worker nodes through a renewal of a CA that ends
// seconds later, all of it with the built CLI. The CA certificate `ca` is re-dated (same key) to end
// CLIFF_MS after the control plane is up; every double reads it at its start and fails its NEW
// connections past that NotAfter, as the real components do (SPEC.md, "The cliff hits at the next NEW
// connection"), so the test waits for that instant, then forces new connections (kube-apiserver
// restarted through its manifest: every client reconnects).
//
// Why this is not timing-fragile: every assertion holds whether the control-plane run and w-1's run
// end before the cliff or, on a very slow machine, after it (a run renews an expired CA of the same
// key too, and a worker takes it by key pinning after the cliff), so the outcome does not hang on
// the runs' speed; the margin only decides which of the two stories is told, and the diagnostics say
// which. What makes w-2 fail is a fact that stays true: it never ran, its kubelet holds the old
// certificate, and the cliff is passed. Waits are for events (a Lease renewed, an error seen, a
// restart counted) with timeouts sized for a machine three times slower.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulatedHost, type SimulatedHost } from "../../test/support/simulated.js";
import { cliAsync } from "../../test/support/cli.js";
import { resignCa as redateCa } from "../../test/support/pki.js";
import { adminClient, until, workerConfig, workerNode, type WorkerNode } from "../../test/support/worker-node.js";
import { annotateManifest } from "../manifests/annotate.js";
import { REPORT_KEYS } from "../report/annotations.js";

/** How long after the control plane is up its CA ends: the control-plane run took about 6 s and w-1's 2 s on a loaded machine. */
const CLIFF_MS = 60_000;
const ENV = { RENEW_CERTS_TEST_PROBE_INTERVAL_MS: "50" };
const runOn = (root: string) => cliAsync(["run", "--root", root], { env: ENV });
const caOf = (root: string): Promise<string> => readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8");

/** Restarts kube-apiserver through its manifest, so that every client opens a new connection; resolves once the kubelet restarted it. */
async function forceReconnect(cp: SimulatedHost): Promise<void> {
  const before = cp.kubelet.restarts("kube-apiserver");
  await annotateManifest(join(cp.root, "etc/kubernetes/manifests/kube-apiserver.yaml"), "konvoy.d2iq.io/restartedAt", (Date.now() / 1000).toFixed(6));
  await until("the kubelet restarts kube-apiserver", () => cp.kubelet.restarts("kube-apiserver") > before, 120_000);
}

/** Resolves once `w`'s kubelet has renewed its Lease `n` more times, the last one without error. */
const renewsAgain = (w: WorkerNode, n: number, why: string): Promise<void> => {
  const from = w.kubelet.renewals();
  return until(`${w.kubelet.nodeName} renews its Lease ${n} times ${why} (last error: ${w.kubelet.lastError() ?? "none"})`,
    () => w.kubelet.renewals() >= from + n && w.kubelet.lastError() === undefined, 120_000);
};

test("a control plane and two workers through a renewal of a CA that ends seconds later: the control plane and the worker that ran keep working past the old NotAfter, the worker that was down heals at its next run, and status --cluster shows it all", async (t) => {
  const started = Date.now();
  let cliff = 0;
  const cp = await simulatedHost(t, {
    prepare: async (root) => {
      cliff = Date.now() + CLIFF_MS;
      await redateCa(root, "ca", { notAfter: new Date(cliff) });
    },
  });
  const config = join(cp.root, "renew-certs-config.yaml");
  await writeFile(config, "nodeName: cp-1\nhealthTimeoutSeconds: 120\nmetricsFile: \"\"\n");
  const [w1, w2] = [await workerNode(t, cp, { nodeName: "w-1", capKubeletClient: false }), await workerNode(t, cp, { nodeName: "w-2", capKubeletClient: false })];
  for (const w of [w1, w2]) await workerConfig(w.root);
  const old = await caOf(cp.root);

  // The control plane's run: the CA is within caRenewBeforeDays (it ends in seconds), so it is re-signed with its key.
  const cpRun = await cliAsync(["run", "--root", cp.root, "--config", config], { env: ENV });
  assert.equal(cpRun.status, 0, cpRun.stderr);
  t.diagnostic(`control-plane run: ${cpRun.stdout.trim()}`);
  assert.match(cpRun.stdout, /renewed CA ca and 0 certificate\(s\); restarted kube-controller-manager \(new process proven .*\), kube-scheduler \(new process proven .*\); all healthy/);
  const renewed = await caOf(cp.root);
  assert.notEqual(renewed, old, "the CA certificate was re-signed");
  assert.ok(Date.parse(new X509Certificate(renewed).validTo) > cliff + 365 * 86_400_000, "the new one is valid for years");
  t.diagnostic(`the control-plane run ended ${Math.round((cliff - Date.now()) / 1000)} s before the old CA's NotAfter`);

  const w1Run = await runOn(w1.root);
  assert.equal(w1Run.status, 0, w1Run.stderr);
  assert.match(w1Run.stdout, /CA certificate updated from kube-public\/cluster-info/);
  assert.equal(await caOf(w1.root), renewed);
  t.diagnostic(`w-1's run ended ${Math.round((cliff - Date.now()) / 1000)} s before the old CA's NotAfter`);

  // Past the cliff, with every connection made anew.
  await until("the old CA certificate's NotAfter", () => Date.now() > cliff + 1000, CLIFF_MS + 180_000);
  await forceReconnect(cp);
  await renewsAgain(w1, 2, "past the cliff");
  await until(`w-2's Lease renewal fails on the expired CA (last error: ${w2.kubelet.lastError() ?? "none"})`, () => /expired/.test(w2.kubelet.lastError() ?? ""), 120_000);

  // The control plane is healthy on new connections: admin.conf reaches the API server, and a second run finds nothing to do.
  const again = await cliAsync(["run", "--root", cp.root, "--config", config], { env: ENV });
  assert.equal(again.status, 0, again.stderr);

  // Before w-2 ran, status --cluster names it as at risk.
  const atRisk = await cliAsync(["status", "--cluster", "--root", cp.root]);
  t.diagnostic(`status --cluster before w-2 healed:\n${atRisk.stdout}`);
  assert.equal(atRisk.status, 20, atRisk.stdout + atRisk.stderr);
  assert.match(atRisk.stdout, /would break at the deadline \(1 of 3\):\n {2}w-2: no report/);

  const healed = await runOn(w2.root);
  assert.equal(healed.status, 0, healed.stderr);
  assert.match(healed.stdout, /CA certificate updated from kube-public\/cluster-info/);
  assert.equal(await caOf(w2.root), renewed);
  await renewsAgain(w2, 1, "after its run");

  const fingerprint = new X509Certificate(renewed).fingerprint256;
  const nodes = await (await adminClient(cp)).get<{ items: { metadata: { name: string; annotations?: Record<string, string> } }[] }>("/api/v1/nodes");
  for (const name of ["cp-1", "w-1", "w-2"]) {
    const n = nodes.items.find((i) => i.metadata.name === name);
    assert.equal(n?.metadata.annotations?.[REPORT_KEYS.caFingerprint], fingerprint, `${name} reports the current CA`);
  }
  const status = await cliAsync(["status", "--cluster", "--root", cp.root]);
  t.diagnostic(`status --cluster at the end:\n${status.stdout}`);
  assert.equal(status.status, 0, status.stdout + status.stderr);
  for (const name of ["cp-1", "w-1", "w-2"]) assert.match(status.stdout, new RegExp(`^${name}\\b.*\\byes\\b`, "m"));
  t.diagnostic(`the whole story took ${Math.round((Date.now() - started) / 1000)} s`);
});

test("the negative control: the same cluster without the renewal; past the cliff and a forced reconnect, both workers' Lease renewals fail on the expired CA and status --cluster cannot read the Nodes with admin.conf (exit 21)", async (t) => {
  let cliff = 0;
  // No run happens before the cliff here, so it can be nearer: the set-up only has to reach the first Lease renewals.
  const cp = await simulatedHost(t, { prepare: async (root) => { cliff = Date.now() + 30_000; await redateCa(root, "ca", { notAfter: new Date(cliff) }); } });
  const [w1, w2] = [await workerNode(t, cp, { nodeName: "w-1", capKubeletClient: false }), await workerNode(t, cp, { nodeName: "w-2", capKubeletClient: false })];
  assert.ok(Date.now() < cliff, "the workers renewed their Leases before the cliff");
  await until("the old CA certificate's NotAfter", () => Date.now() > cliff + 1000, 180_000);
  await forceReconnect(cp);
  for (const w of [w1, w2]) {
    await until(`${w.kubelet.nodeName}'s Lease renewal fails on the expired CA (last error: ${w.kubelet.lastError() ?? "none"})`, () => /expired/.test(w.kubelet.lastError() ?? ""), 120_000);
  }
  const status = await cliAsync(["status", "--cluster", "--root", cp.root]);
  t.diagnostic(`status --cluster: exit ${status.status}\n${status.stdout}${status.stderr}`);
  // Nothing on the control plane was renewed either: admin.conf's CA data is the expired certificate, and the
  // restarted API server was not reachable when measured (ECONNREFUSED: the control plane's own kubelet, on
  // the expired CA, no longer reaches it); either way the Nodes cannot be read.
  assert.equal(status.status, 21, status.stderr);
  assert.match(status.stderr, /could not list the Nodes through .*admin\.conf/);
});
