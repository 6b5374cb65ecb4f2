// The proof that the kubelet came back on the files a worker run wrote: its healthz answers, AND
// its node Lease (kube-node-lease/<node>) was renewed after the restart. healthz alone says only
// that the process runs: a kubelet that cannot reach the API server (its CA certificate expired, a
// CA it does not trust) answers healthz all the same. The Lease is renewed only through the API
// server, every 10 s (a quarter of nodeLeaseDurationSeconds, 40), on the kubelet's own connection:
// a renewal after the restart is the kubelet's new process reaching the API with what it read.
import { pinnedRequest, type Pin } from "../kube/pinned-https.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import type { NodeRuntime } from "../kubelet/runtime.js";
import { waitHealthy, type HealthResult } from "../run/wait.js";

/** The node Lease's namespace (the kubelet's heartbeat). */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** Where the node's Lease is read, and how. */
export interface LeaseSource {
  endpoint: { host: string; port: number };
  pin: Pin;
  /** kubelet.conf (its client credentials are read anew for every probe: the kubelet may rotate them). */
  kubeletConf: string;
  root: string;
  nodeName: string;
}

/** The Lease's spec.renewTime (epoch ms) and what was seen; never throws. */
export async function leaseRenewTime(s: LeaseSource): Promise<{ renewTime: number | undefined; detail: string }> {
  try {
    const creds = await credentialsFromKubeconfig(s.kubeletConf, s.root);
    const r = await pinnedRequest({ endpoint: s.endpoint, path: `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${s.nodeName}`, pin: s.pin, client: { certPem: creds.certPem, keyPem: creds.keyPem } });
    if (r.status !== 200) return { renewTime: undefined, detail: `the Lease ${NODE_LEASE_NAMESPACE}/${s.nodeName}: ${r.status}` };
    const lease = JSON.parse(r.body) as { spec?: { renewTime?: string } };
    const t = Date.parse(lease.spec?.renewTime ?? "");
    return Number.isNaN(t) ? { renewTime: undefined, detail: `the Lease ${NODE_LEASE_NAMESPACE}/${s.nodeName} has no renewTime` } : { renewTime: t, detail: `renewed at ${new Date(t).toISOString()}` };
  } catch (e) {
    return { renewTime: undefined, detail: `the Lease ${NODE_LEASE_NAMESPACE}/${s.nodeName}: ${(e as Error).message}` };
  }
}

/** What the proof found: back, or why not. */
export interface KubeletProof {
  back: boolean;
  detail: string;
  elapsedMs: number;
}

/** Waits until the kubelet answers healthz and its Lease was renewed after `since` (epoch ms), or `timeoutMs` passes. */
export async function proveKubeletBack(o: { runtime: NodeRuntime; lease: LeaseSource; since: number; timeoutMs: number; intervalMs?: number; signal?: AbortSignal }): Promise<KubeletProof> {
  const check = async (): Promise<HealthResult> => {
    const h = await o.runtime.kubeletHealth();
    if (h.state !== "running") return { healthy: false, detail: `the kubelet does not run: ${h.detail}` };
    const l = await leaseRenewTime(o.lease);
    if (l.renewTime === undefined) return { healthy: false, detail: `the kubelet runs, but ${l.detail}` };
    if (l.renewTime <= o.since) return { healthy: false, detail: `the kubelet runs, but its Lease was last renewed at ${new Date(l.renewTime).toISOString()}, before its restart` };
    return { healthy: true, detail: `healthz ok, its Lease ${l.detail}, after its restart` };
  };
  const r = await waitHealthy(check, { timeoutMs: o.timeoutMs, ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  return { back: r.healthy, detail: r.detail, elapsedMs: r.elapsedMs };
}
