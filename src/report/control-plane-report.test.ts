import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { simulatedHost } from "../../test/support/simulated.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { runJob } from "../run/job.js";
import { parseExposition, METRICS } from "../run/metrics.js";
import { kubeClient } from "../kube/client.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { localApiEndpoint } from "../kube/endpoint.js";
import { REPORT_KEYS, readReport } from "./annotations.js";

const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 20 };

async function nodeOf(root: string, name: string): Promise<{ metadata: { annotations?: Record<string, string> } }> {
  const c = kubeClient(await localApiEndpoint(root), await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
  return c.get(`/api/v1/nodes/${name}`);
}

test("a control-plane run on the sandbox reports on its own Node through admin.conf, keeps the kubelet's status there, and counts the Nodes on an old CA in the metrics", async (t) => {
  const { root } = await simulatedHost(t, { ageDays: 30 });
  const log = memoryLogger();
  const started = Date.now();
  const outcome = await runJob({ root, settings, log, intervalMs: 50 });
  assert.equal(outcome.kind, "not-due");
  assert.deepEqual(log.lines.filter((l) => l.level === "warn"), []);
  const n = await nodeOf(root, "cp-1");
  const r = readReport(n.metadata.annotations);
  assert.ok(r, JSON.stringify(n));
  const ca = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/ca.crt")));
  assert.equal(r.role, "control-plane");
  assert.equal(r.result, "exit 0 (succeeded)");
  assert.ok(r.lastRun.getTime() >= Math.floor(started / 1000) * 1000 && r.lastRun.getTime() <= Date.now(), r.lastRun.toISOString());
  assert.equal(r.caFingerprint, ca.fingerprint256);
  assert.equal(r.kubeconfigCaFingerprint, ca.fingerprint256);
  assert.ok(r.oldest && r.oldest.notAfter.getTime() > Date.now(), "the oldest leaf is named with its expiry");
  assert.match(n.metadata.annotations?.[REPORT_KEYS.version] ?? "", /^\d+\.\d+\.\d+/);
  for (const v of Object.values(n.metadata.annotations ?? {})) assert.doesNotMatch(v, /PRIVATE|BEGIN/);
  // The kubelet double's status updates (a patch of nodes/NAME/status) leave the report in place.
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal((await nodeOf(root, "cp-1")).metadata.annotations?.[REPORT_KEYS.result], "exit 0 (succeeded)");
  const metrics = parseExposition(await readFile(join(root, settings.metricsFile), "utf8"));
  assert.equal(metrics.samples.find((s) => s.name === METRICS.clusterOldCaNodes)?.value, 0);
  assert.equal(metrics.samples.find((s) => s.name === METRICS.clusterCaDeadline)?.value, Date.parse(ca.validTo) / 1000, "no CA renewal recorded: the CA's own NotAfter");
});

test("a dry run reports nothing on the Node", async (t) => {
  const { root } = await simulatedHost(t, { ageDays: 300 });
  await runJob({ root, settings, log: memoryLogger(), dryRun: true });
  assert.equal(readReport((await nodeOf(root, "cp-1")).metadata.annotations), undefined);
});
