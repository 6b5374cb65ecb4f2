// kube-controller-manager's root CA certificate publisher, as the controller-manager double plays
// it (pkg/controller/certificates/rootcacertpublisher): ConfigMap kube-root-ca.crt, key ca.crt, in
// every namespace, holding the --root-ca-file the process read ONCE at its start. A namespace
// created later gets it, and a ConfigMap someone else changed is put back; only a restart makes it
// publish a renewed root CA (measured: every namespace held the new one only after the restart).
// It talks to the API server as the real one does: with its kubeconfig's client certificate,
// verifying the server with the kubeconfig's CA as read at start, on connections kept open (Node's
// default agent keeps them alive), so a CA whose NotAfter passes breaks only its next NEW connection.
import { ApiError, type KubeClient } from "../kube/client.js";

/** The ConfigMap's name and key, as every pod's service account volume mounts it. */
export const ROOT_CA_CONFIGMAP = { name: "kube-root-ca.crt", key: "ca.crt" } as const;

/** The real publisher's description annotation. */
const DESCRIPTION = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal " +
  "service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

type ConfigMap = { metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> }; data?: Record<string, string> };

/** One round: every namespace's kube-root-ca.crt made to hold `rootCa`. Throws when the API server cannot be reached. */
export async function publishRootCa(api: KubeClient, rootCa: string): Promise<void> {
  const namespaces = (await api.get<{ items: { metadata: { name: string } }[] }>("/api/v1/namespaces")).items.map((n) => n.metadata.name);
  const held = new Map<string, ConfigMap>();
  for (const cm of (await api.get<{ items: ConfigMap[] }>("/api/v1/configmaps")).items) {
    if (cm.metadata.name === ROOT_CA_CONFIGMAP.name) held.set(cm.metadata.namespace, cm);
  }
  for (const ns of namespaces) {
    const cur = held.get(ns);
    const data = { [ROOT_CA_CONFIGMAP.key]: rootCa };
    const metadata = { name: ROOT_CA_CONFIGMAP.name, namespace: ns, annotations: { "kubernetes.io/description": DESCRIPTION } };
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    try {
      if (!cur) await api.create(path, { apiVersion: "v1", kind: "ConfigMap", metadata, data });
      else if (cur.data?.[ROOT_CA_CONFIGMAP.key] !== rootCa || Object.keys(cur.data).length !== 1) {
        await api.update(`${path}/${ROOT_CA_CONFIGMAP.name}`, { ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, ...metadata.annotations } }, data });
      }
    } catch (e) {
      // A conflict or a namespace that went meanwhile: the next round sees the new state.
      if (!(e instanceof ApiError)) throw e;
    }
  }
}

/**
 * Runs `rounds` (the controllers a process plays) now and then every `periodMs`, each on its own,
 * retrying while the API server cannot be reached; logs each controller's outcome when it changes.
 * Returns the stopper.
 */
export function startControllerLoop(o: { rounds: Record<string, () => Promise<void>>; periodMs: number; log?: (line: string) => void }): () => void {
  let stopped = false;
  const last = new Map<string, string>();
  const loop = async (): Promise<void> => {
    while (!stopped) {
      for (const [name, round] of Object.entries(o.rounds)) {
        const outcome = await round().then(() => "ok", (e: unknown) => (e as Error).message);
        if (outcome !== last.get(name)) o.log?.(outcome === "ok" ? `${name}: done` : `${name}: cannot: ${outcome}`);
        last.set(name, outcome);
      }
      await new Promise((r) => setTimeout(r, o.periodMs).unref());
    }
  };
  void loop();
  return () => { stopped = true; };
}
