import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFile, writeFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { copySandbox } from "../../test/support/sandbox.js";
import { startApiDouble, type ApiDouble } from "../../test/support/api.js";
import { assignFreePorts } from "../simulator/ports.js";
import { kubeClient, type KubeClient } from "../kube/client.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { memoryLogger } from "../log/logger.js";
import { REPORT_KEYS, REPORT_PREFIX, readReport, reportAnnotations } from "./annotations.js";
import { hostFacts, writeNodeReport } from "./node-report.js";

const node = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Node", metadata: { name, labels } });

/** A sandbox (its kubelet is system:node:cp-1) with an API server double holding Nodes cp-1 and other. */
async function cluster(t: Parameters<typeof copySandbox>[0]): Promise<{ root: string; api: ApiDouble; admin: KubeClient; kubelet: KubeClient }> {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  await assignFreePorts(root);
  const api = await startApiDouble(t, root, 0);
  api.state.nodes.put(node("cp-1", { "kubernetes.io/hostname": "cp-1" }));
  api.state.nodes.put(node("other"));
  const at = { host: "127.0.0.1", port: api.port };
  const admin = kubeClient(at, await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
  const kubelet = kubeClient(at, await credentialsFromKubeconfig(join(root, "etc/kubernetes/kubelet.conf"), root));
  return { root, api, admin, kubelet };
}

const rejects = async (p: Promise<unknown>, status: number, message: RegExp | string): Promise<void> => {
  await assert.rejects(p, (e: Error & { status?: number }) => {
    assert.equal(e.status, status, e.message);
    if (typeof message === "string") assert.ok(e.message.endsWith(message), e.message);
    else assert.match(e.message, message);
    return true;
  });
};

test("a kubelet's credentials may annotate their own Node and get 403 on another's, in the API server's words", async (t) => {
  const { api, kubelet } = await cluster(t);
  const patch = { metadata: { annotations: { [REPORT_KEYS.role]: "worker" } } };
  await kubelet.patch("/api/v1/nodes/cp-1", patch);
  assert.equal((api.state.nodes.get("cp-1")?.metadata["annotations"] as Record<string, string>)[REPORT_KEYS.role], "worker");
  await rejects(kubelet.patch("/api/v1/nodes/other", patch), 403, `nodes "other" is forbidden: node "cp-1" is not allowed to modify node "other"`);
  assert.equal(api.state.nodes.get("other")?.metadata["annotations"], undefined, "the other Node is unchanged");
  await rejects(kubelet.update("/api/v1/nodes/other", node("other")), 403, /node "cp-1" is not allowed to modify node "other"$/);
  // A kubelet registers its own Node (registerWithAPIServer), and may not create another's.
  api.state.nodes.delete("cp-1");
  await rejects(kubelet.create("/api/v1/nodes", node("w-9")), 403, `nodes "w-9" is forbidden: node "cp-1" is not allowed to modify node "w-9"`);
  assert.equal(api.state.nodes.get("w-9"), undefined);
  await kubelet.create("/api/v1/nodes", node("cp-1", { "kubernetes.io/hostname": "cp-1" }));
  assert.ok(api.state.nodes.get("cp-1"));
  // The node authorizer: its own Node only, not the list.
  await kubelet.get("/api/v1/nodes/cp-1");
  await rejects(kubelet.get("/api/v1/nodes"), 403, "node 'cp-1' cannot read all nodes, only its own Node object");
});

test("NodeRestriction: a kubelet may set its own kubelet labels and any annotation, not a node-restriction or unknown kubernetes.io label; admin may change any Node", async (t) => {
  const { api, kubelet, admin } = await cluster(t);
  await kubelet.patch("/api/v1/nodes/cp-1", { metadata: { labels: { "node.kubernetes.io/instance-type": "m5", "example.com/team": "a" } } });
  await rejects(kubelet.patch("/api/v1/nodes/cp-1", { metadata: { labels: { "node-role.kubernetes.io/control-plane": "" } } }), 403, "is not allowed to modify labels: node-role.kubernetes.io/control-plane");
  await rejects(kubelet.patch("/api/v1/nodes/cp-1", { metadata: { labels: { "node-restriction.kubernetes.io/pool": "x" } } }), 403, "is not allowed to modify labels: node-restriction.kubernetes.io/pool");
  await rejects(kubelet.patch("/api/v1/nodes/cp-1", { spec: { taints: [] } }), 403, `node "cp-1" is not allowed to modify taints`);
  await kubelet.patch("/api/v1/nodes/cp-1", { metadata: { labels: { "kubernetes.io/hostname": null } } }); // a kubelet label: its own to remove
  assert.deepEqual(api.state.nodes.get("cp-1")?.metadata["labels"], { "node.kubernetes.io/instance-type": "m5", "example.com/team": "a" });
  await admin.patch("/api/v1/nodes/other", { metadata: { labels: { "node-role.kubernetes.io/control-plane": "" }, annotations: { a: "b" } } });
  assert.deepEqual(api.state.nodes.get("other")?.metadata["labels"], { "node-role.kubernetes.io/control-plane": "" });
  assert.equal((await admin.get<{ items: unknown[] }>("/api/v1/nodes")).items.length, 2);
});

test("a worker's report is written with the kubelet's credentials and holds no secret material: no PEM, no key, only its documented keys", async (t) => {
  const { root, api, kubelet } = await cluster(t);
  const log = memoryLogger();
  const now = new Date(Date.UTC(2026, 11, 7, 21, 0, 0));
  assert.equal(await writeNodeReport({ root, nodeName: "cp-1", role: "worker", exitCode: 0, now, log, client: kubelet }), "written");
  const annotations = api.state.nodes.get("cp-1")?.metadata["annotations"] as Record<string, string>;
  for (const [k, v] of Object.entries(annotations)) {
    assert.ok(k.startsWith(REPORT_PREFIX), k);
    assert.doesNotMatch(v, /PRIVATE|BEGIN|-----|MII/, k);
    assert.ok(v.length < 120, k);
  }
  const ca = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/ca.crt")));
  const kubeletCert = new X509Certificate((await readFile(join(root, "var/lib/kubelet/pki/kubelet-client-current.pem"), "utf8")).replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/, ""));
  const r = readReport(annotations);
  assert.deepEqual({ role: r?.role, result: r?.result, exit: r?.exitCode, lastRun: annotations[REPORT_KEYS.lastRun] }, { role: "worker", result: "exit 0 (succeeded)", exit: 0, lastRun: "2026-12-07T21:00:00Z" });
  assert.equal(r?.caFingerprint, ca.fingerprint256);
  assert.equal(r?.kubeconfigCaFingerprint, ca.fingerprint256);
  assert.equal(r?.kubeletClientExpiry?.getTime(), Date.parse(kubeletCert.validTo));
  // A second report with a fact gone removes its old value (the patch sets it to null).
  await kubelet.patch("/api/v1/nodes/cp-1", { metadata: { annotations: { [REPORT_KEYS.caFingerprint]: null } } });
  assert.equal((api.state.nodes.get("cp-1")?.metadata["annotations"] as Record<string, string>)[REPORT_KEYS.caFingerprint], undefined);
});

test("a report on a Node that does not exist is a debug line; on another's Node a warning; neither throws", async (t) => {
  const { root, kubelet } = await cluster(t);
  const log = memoryLogger();
  const o = { root, role: "worker" as const, exitCode: 7, now: new Date(), log, client: kubelet };
  assert.equal(await writeNodeReport({ ...o, nodeName: "cp-1" }), "written");
  assert.equal(await writeNodeReport({ ...o, nodeName: "other" }), "failed");
  assert.match(log.lines.find((l) => l.level === "warn")?.msg ?? "", /could not write this run's report on Node other \(the run's result stands\): .*403 nodes "other" is forbidden/);
  const { admin } = await cluster(t);
  assert.equal(await writeNodeReport({ ...o, nodeName: "gone", client: admin }), "no-node");
  assert.ok(log.lines.some((l) => l.level === "debug" && /no Node gone in the cluster/.test(l.msg)));
});

test("the host's facts: the oldest leaf names itself, fingerprints are SHA-256 as node:crypto prints them; the annotations of a fact not known are null", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  const facts = await hostFacts(root, [{ name: "admin.conf", notAfter: new Date(Date.UTC(2020, 0, 1)) }]);
  assert.deepEqual(facts.oldest, { name: "admin.conf", notAfter: new Date(Date.UTC(2020, 0, 1)) });
  assert.match(facts.caFingerprint ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const a = reportAnnotations({ version: "1.2.3", role: "control-plane", lastRun: new Date(0), exitCode: 20 });
  assert.equal(a[REPORT_KEYS.caFingerprint], null);
  assert.match(a[REPORT_KEYS.result] ?? "", /^exit 20 \(status --cluster: /);
});

test("a worker reaches the API server kubelet.conf names, with the kubelet's own certificate file: its report lands on its Node", async (t) => {
  const { root, api } = await cluster(t);
  const file = join(root, "etc/kubernetes/kubelet.conf");
  await writeFile(file, (await readFile(file, "utf8")).replace(/server: \S+/, `server: https://127.0.0.1:${api.port}`));
  const log = memoryLogger();
  assert.equal(await writeNodeReport({ root, nodeName: "cp-1", role: "worker", exitCode: 21, now: new Date(), log }), "written", JSON.stringify(log.lines));
  assert.match((api.state.nodes.get("cp-1")?.metadata["annotations"] as Record<string, string>)[REPORT_KEYS.result] ?? "", /^exit 21 \(status --cluster could not read the Nodes\)$/);
});
