// A worker node beside a simulated control plane: a tree from `sandbox --worker-of`, run by the
// worker kubelet double until the test ends; and what a control-plane run does after renewing the CA
// (publishing it in cluster-info), done here through the API server double with admin.conf.
import type { TestContext } from "node:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { onCleanup } from "./cleanup.js";
import { TEST_SIM, type SimulatedHost } from "./simulated.js";
import { createWorkerSandbox } from "../../src/sandbox/worker.js";
import { startWorkerKubelet, type WorkerKubelet } from "../../src/simulator/worker-kubelet.js";
import { ApiError, kubeClient } from "../../src/kube/client.js";
import { annotateManifest } from "../../src/manifests/annotate.js";
import { credentialsFromKubeconfig } from "../../src/kube/credentials.js";
import { localApiEndpoint } from "../../src/kube/endpoint.js";
import { clusterInfoKubeconfig } from "../../src/simulator/cluster-seed.js";

/** A worker node: its root and its kubelet. */
export interface WorkerNode {
  root: string;
  kubelet: WorkerKubelet;
}

/** Resolves once `cond` holds; throws after `timeoutMs` (default 60 s) saying what was awaited. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await cond());) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A worker node joined to `cp`, its kubelet double running and its Lease renewed once. */
export async function workerNode(t: TestContext, cp: SimulatedHost, o: { nodeName?: string; capKubeletClient?: boolean; failStarts?: number; caPem?: string; untilLease?: boolean } = {}): Promise<WorkerNode> {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-worker-"));
  onCleanup(t, () => rm(root, { recursive: true, force: true, maxRetries: 3 }));
  await createWorkerSandbox(root, { of: cp.root, nodeName: o.nodeName ?? "w-1", ...(o.capKubeletClient !== undefined ? { capKubeletClient: o.capKubeletClient } : {}), ...(o.caPem ? { caPem: o.caPem } : {}) });
  const kubelet = await startWorkerKubelet({ root, sim: TEST_SIM, ...(o.failStarts ? { failStarts: o.failStarts } : {}) });
  onCleanup(t, () => kubelet.stop());
  if (o.untilLease !== false) await until(`the worker kubelet ${kubelet.nodeName} renews its Lease (last error: ${kubelet.lastError() ?? "none"})`, () => kubelet.renewals() > 0);
  return { root, kubelet };
}

/** A client of `cp`'s API server with its admin.conf. */
export async function adminClient(cp: SimulatedHost): Promise<ReturnType<typeof kubeClient>> {
  return kubeClient(await localApiEndpoint(cp.root), await credentialsFromKubeconfig(join(cp.root, "etc/kubernetes/admin.conf"), cp.root));
}

/** Deletes the object at `path` through `cp`'s API server with admin.conf (the small client has no DELETE). */
export async function deleteObject(cp: SimulatedHost, path: string): Promise<number> {
  const ep = await localApiEndpoint(cp.root);
  const c = await credentialsFromKubeconfig(join(cp.root, "etc/kubernetes/admin.conf"), cp.root);
  return new Promise((resolve, reject) => {
    const req = request({ host: ep.host, port: ep.port, path, method: "DELETE", ca: c.caPem, cert: c.certPem, key: c.keyPem, checkServerIdentity: () => undefined, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * Makes `cp`'s controller-manager publish its pki/ca.crt as kube-root-ca.crt in `namespace` (made
 * when absent): it reads its root CA at its start only, so it is restarted, as a control-plane run
 * does after a CA renewal; resolves once the ConfigMap holds it.
 */
export async function publishRootCa(cp: SimulatedHost, namespace = "renew-certs"): Promise<void> {
  const api = await adminClient(cp);
  await api.create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }).catch((e: unknown) => {
    if (!(e instanceof ApiError && e.status === 409)) throw e;
  });
  await annotateManifest(join(cp.root, "etc/kubernetes/manifests/kube-controller-manager.yaml"), "konvoy.d2iq.io/restartedAt", (Date.now() / 1000).toFixed(6));
  const want = await readFile(join(cp.root, "etc/kubernetes/pki/ca.crt"), "utf8");
  const path = `/api/v1/namespaces/${namespace}/configmaps/kube-root-ca.crt`;
  await until(`${namespace}/kube-root-ca.crt holds the control plane's CA`, async () =>
    (await api.get<{ data?: Record<string, string> }>(path).catch(() => undefined))?.data?.["ca.crt"] === want, 120_000);
}

/** Puts `cp`'s pki/ca.crt into kube-public/cluster-info, as a control-plane run does after a CA renewal. */
export async function publishClusterInfo(cp: SimulatedHost): Promise<void> {
  const api = await adminClient(cp);
  const path = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
  const cur = await api.get<{ metadata: Record<string, unknown>; data: Record<string, string> }>(path);
  const ep = await localApiEndpoint(cp.root);
  const caPem = await readFile(join(cp.root, "etc/kubernetes/pki/ca.crt"), "utf8");
  await api.update(path, { ...cur, data: { ...cur.data, kubeconfig: clusterInfoKubeconfig(`https://${ep.host}:${ep.port}`, caPem) } });
}

/** Writes the host's configuration file under a worker's `root` (run reads it without --config). */
export async function workerConfig(root: string, healthTimeoutSeconds = 120): Promise<string> {
  const file = join(root, "etc/renew-certs/config.yaml");
  await mkdir(join(root, "etc/renew-certs"), { recursive: true });
  await writeFile(file, `healthTimeoutSeconds: ${healthTimeoutSeconds}\nlockTimeoutSeconds: 5\nmetricsFile: ""\n`);
  return file;
}
