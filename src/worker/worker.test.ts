// `run` on worker nodes of a simulated control plane: the built CLI against trees made by
// `sandbox --worker-of`, each run by the worker kubelet double, whose Lease renewals show whether it
// reaches the API server with the CA it read at its start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { cliAsync } from "../../test/support/cli.js";
import { resignCa as redateCa } from "../../test/support/pki.js";
import { sharedSandbox } from "../../test/support/sandbox.js";
import { treeOf } from "../../test/support/tree.js";
import { adminClient, deleteObject, publishClusterInfo, publishRootCa, until, workerConfig, workerNode, type WorkerNode } from "../../test/support/worker-node.js";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";
import { clusterInfoKubeconfig } from "../simulator/cluster-seed.js";
import { resignedCa } from "../../test/support/resigned-ca.js";
import { REPORT_KEYS } from "../report/annotations.js";

const DAY = 86_400_000;
const run = (w: WorkerNode, env: Record<string, string> = {}) => cliAsync(["run", "--root", w.root], { env: { RENEW_CERTS_TEST_PROBE_INTERVAL_MS: "50", ...env } });
const caOf = (root: string): Promise<string> => readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8");
const kubeletConfCa = async (root: string): Promise<string | undefined> => {
  const file = join(root, "etc/kubernetes/kubelet.conf");
  return (await parseKubeconfig(await readFile(file, "utf8"), file, root)).caPem;
};
/** The files (not directories: the lock's may be made) under a worker's root, but the kubelet's log and control endpoint. */
const filesOf = async (root: string): Promise<string[]> => [...(await treeOf(root, ["var/log", "run"]))].filter(([, v]) => !v.startsWith("dir")).map(([k, v]) => `${k} ${v}`);

test("two workers of a control plane whose CA expires in seconds: the one that ran after the renewal keeps its Lease past the old NotAfter, the other loses it, and one run after the cliff brings it back", async (t) => {
  const cliff = Date.now() + 45_000;
  const cp = await simulatedHost(t, { prepare: async (root) => { await redateCa(root, "ca", { notAfter: new Date(cliff) }); } });
  const [w1, w2] = [await workerNode(t, cp, { nodeName: "w-1", capKubeletClient: false }), await workerNode(t, cp, { nodeName: "w-2", capKubeletClient: false })];
  for (const w of [w1, w2]) await workerConfig(w.root);

  const current = await run(w1);
  assert.equal(current.status, 0, current.stderr);
  assert.match(current.stderr, /this host is a worker node: it has \/etc\/kubernetes\/kubelet\.conf but no control-plane static pod manifest/);
  assert.match(current.stdout, /this node holds the cluster's CA certificate \(from kube-public\/cluster-info/);
  assert.equal(w1.kubelet.starts(), 1, "nothing to do: the kubelet was not restarted");

  const renew = await cliAsync(["ca", "renew", "ca", "--root", cp.root]);
  assert.equal(renew.status, 0, renew.stderr);
  await publishClusterInfo(cp);
  const updated = await run(w1);
  assert.equal(updated.status, 0, updated.stderr);
  assert.match(updated.stdout, /CA certificate updated from kube-public\/cluster-info .*the kubelet was restarted and is back \(healthz, its Lease renewed\)/);
  const renewed = await caOf(cp.root);
  assert.equal(await caOf(w1.root), renewed);
  assert.equal(await kubeletConfCa(w1.root), renewed);
  assert.equal(w1.kubelet.starts(), 2);
  // The kubelet registered its Node at its start; the run reported on it with the kubelet's credentials.
  const node = await (await adminClient(cp)).get<{ metadata: { annotations?: Record<string, string> } }>("/api/v1/nodes/w-1");
  assert.equal(node.metadata.annotations?.[REPORT_KEYS.role], "worker");
  assert.equal(node.metadata.annotations?.[REPORT_KEYS.caFingerprint], new X509Certificate(renewed).fingerprint256);
  t.diagnostic(`the worker run ended ${Math.round((cliff - Date.now()) / 1000)} s before the old CA's NotAfter`);

  // Past the old NotAfter: every new handshake of a kubelet that holds only the old certificate fails.
  await until("the old CA certificate's NotAfter", () => Date.now() > cliff + 1000, 120_000);
  const atCliff = w1.kubelet.renewals();
  await until(`w-2's Lease renewal fails on the expired CA (last error: ${w2.kubelet.lastError() ?? "none"})`, () => /expired/.test(w2.kubelet.lastError() ?? ""));
  await until("w-1 renews its Lease twice past the cliff", () => w1.kubelet.renewals() >= atCliff + 2 && w1.kubelet.lastError() === undefined);

  const healed = await run(w2);
  assert.equal(healed.status, 0, healed.stderr);
  assert.match(healed.stderr, /this node trusts the CA sha256:[0-9a-f]{64} .*valid to /);
  assert.match(healed.stdout, /CA certificate updated from kube-public\/cluster-info/);
  assert.equal(await kubeletConfCa(w2.root), renewed);
  assert.equal(w2.kubelet.lastError(), undefined);
});

test("a cluster-info CA of another key is refused: exit 4, the pin and the fix named, not one file of the node changed; with no cluster-info at all, kubeadm's fix is named and, the CA being years from its end, exit 0", async (t) => {
  const cp = await simulatedHost(t);
  const w = await workerNode(t, cp);
  await workerConfig(w.root);
  const foreign = await readFile(join(await sharedSandbox({ keySpec: { type: "ec", curve: "P-256" }, nodeName: "other-cluster" }), "etc/kubernetes/pki/ca.crt"), "utf8");
  const api = await adminClient(cp);
  const path = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
  const cur = await api.get<{ data: Record<string, string> }>(path);
  await api.update(path, { ...cur, data: { kubeconfig: clusterInfoKubeconfig("https://127.0.0.1:1", foreign) } });
  const before = await filesOf(w.root);
  const r = await run(w);
  assert.equal(r.status, 4, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /the CA certificate in kube-public\/cluster-info has another key \(sha256:[0-9a-f]{64}\): refused, nothing was written\. .*\(sha256:[0-9a-f]{64}, the same subject, self-signed by that key\).*kubeadm join/);
  assert.deepEqual(await filesOf(w.root), before);
  assert.equal(w.kubelet.starts(), 1, "the kubelet was not restarted");

  // A cluster made without kubeadm's bootstrap-token phase has no cluster-info: the fix is named; its CA is years from its NotAfter, so exit 0.
  assert.equal(await deleteObject(cp, path), 200);
  const absent = await run(w);
  assert.equal(absent.status, 0, absent.stderr);
  assert.match(absent.stderr, /kube-public\/cluster-info does not exist \(a cluster made without kubeadm's bootstrap-token phase\): on a control-plane host, run "kubeadm init phase bootstrap-token"/);
  assert.match(absent.stderr, /not within caRenewBeforeDays \(365\): nothing to do yet/);
  assert.deepEqual(await filesOf(w.root), before);
});

test("a kubelet that does not come back on the new CA certificate: rolled back to the previous files, proven back on them, exit 7", async (t) => {
  const cp = await simulatedHost(t);
  const w = await workerNode(t, cp);
  await workerConfig(w.root, 3);
  const before = await filesOf(w.root);
  const renew = await cliAsync(["ca", "renew", "ca", "--root", cp.root]);
  assert.equal(renew.status, 0, renew.stderr);
  await publishClusterInfo(cp);
  w.kubelet.setFailStarts(1); // its next start fails; the one after works: a fault that stays until the rollback's restart
  const r = await run(w);
  assert.equal(r.status, 7, r.stderr);
  assert.match(r.stderr, /the kubelet did not come back within 3 s of its restart: the kubelet does not run: .*connection refused/);
  assert.match(r.stderr, /Rolled back: the previous CA files were restored from .* and the kubelet is back on them/);
  assert.doesNotMatch(r.stdout, /updated/);
  assert.deepEqual(await filesOf(w.root).then((f) => f.filter((l) => !l.startsWith("var/lib/renew-certs/backups"))), before);
  assert.equal(w.kubelet.starts(), 3);
  assert.equal(w.kubelet.active(), true);
});

test("a hardened cluster (anonymous clients may not read cluster-info): the CA comes from kube-root-ca.crt of renew-certs' namespace, read with the kubelet's credentials; --dry-run shows it and writes nothing", async (t) => {
  const cp = await simulatedHost(t, { sim: { anonymousClusterInfo: false } });
  const w = await workerNode(t, cp);
  await workerConfig(w.root);
  const renew = await cliAsync(["ca", "renew", "ca", "--root", cp.root]);
  assert.equal(renew.status, 0, renew.stderr);
  await publishRootCa(cp);
  const before = await filesOf(w.root);
  const dry = await cliAsync(["run", "--root", w.root, "--dry-run"]);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /would write etc\/kubernetes\/pki\/ca\.crt, etc\/kubernetes\/kubelet\.conf and restart the kubelet; --dry-run: nothing was written/);
  assert.deepEqual(await filesOf(w.root), before);
  assert.equal(w.kubelet.starts(), 1);
  const r = await run(w);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /not from there: kube-public\/cluster-info anonymous clients may not read it \(a hardened cluster\)/);
  assert.match(r.stdout, /CA certificate updated from renew-certs\/kube-root-ca\.crt/);
  assert.equal(await kubeletConfCa(w.root), await caOf(cp.root));
});

test("no cluster-info and no kube-root-ca.crt, with the node's CA within caRenewBeforeDays: exit 6 with kubeadm's fix; nothing changed", async (t) => {
  const cp = await simulatedHost(t, { sim: { anonymousClusterInfo: false }, prepare: async (root) => { await redateCa(root, "ca", { notAfter: new Date(Date.now() + 100 * DAY) }); } });
  const w = await workerNode(t, cp);
  await workerConfig(w.root);
  const before = await filesOf(w.root);
  const r = await run(w);
  assert.equal(r.status, 6, r.stderr);
  assert.match(r.stderr, /this node could not read the cluster's CA certificate \(kube-public\/cluster-info anonymous clients may not read it .*renew-certs\/kube-root-ca\.crt \(with the kubelet's credentials\) does not exist\); this node's CA certificate expires at .*, within caRenewBeforeDays \(365\): nothing was changed/);
  assert.deepEqual(await filesOf(w.root), before);

  // The DaemonSet's namespace, and the controller-manager restarted onto the renewed CA: the next run takes it from its kube-root-ca.crt.
  const renew = await cliAsync(["ca", "renew", "ca", "--root", cp.root]);
  assert.equal(renew.status, 0, renew.stderr);
  await publishRootCa(cp);
  const r2 = await run(w);
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /CA certificate updated from renew-certs\/kube-root-ca\.crt/);
  // The sandbox's signer capped the kubelet's certificate at the old CA certificate's NotAfter, as the controller-manager's does.
  assert.match(r2.stderr, /the kubelet's client certificate is valid to \S+, capped at the NotAfter of the CA certificate this node held \(the signer's cap\)/);
});

test("a kubelet that does not come back, on a node whose previous CA certificate has expired: no rollback onto it; exit 15, the new files kept, and the next run brings the kubelet back", async (t) => {
  const cp = await simulatedHost(t);
  // The node holds only an expired certificate of the CA (same key): its kubelet cannot reach the API server.
  const expired = (await resignedCa(cp.root, { expiredDaysAgo: 1 })).pem;
  const w = await workerNode(t, cp, { caPem: expired, capKubeletClient: false, untilLease: false });
  await workerConfig(w.root, 3);
  await until("the kubelet's handshake fails on the expired CA", () => /expired/.test(w.kubelet.lastError() ?? ""));
  w.kubelet.setFailStarts(1);
  const r = await run(w);
  assert.equal(r.status, 15, r.stderr);
  assert.match(r.stderr, /The previous CA certificate expired at \S+: a rollback onto it could never work, so the new one stays and the next run restarts the kubelet again/);
  const current = await caOf(cp.root);
  assert.equal(await caOf(w.root), current);
  assert.equal(await kubeletConfCa(w.root), current);
  const status = await cliAsync(["status", "--root", w.root]);
  assert.match(status.stdout + status.stderr, /the kubelet was not back on the new CA certificate at .* \(the previous one has expired, so the new one was kept\)/);
  const next = await run(w);
  assert.equal(next.status, 0, next.stderr);
  assert.match(next.stdout, /finished the interrupted run: CA certificate from kube-public\/cluster-info/);
  await until("the kubelet renews its Lease on the new CA", () => w.kubelet.lastError() === undefined && w.kubelet.renewals() > 0);
});
