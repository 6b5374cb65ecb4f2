// What `kubeadm init` leaves in a new cluster that the CA renewal reads, stored by the API server
// double at its first start when absent: the four namespaces, and kube-public/cluster-info (its
// bootstrap-token phase: a kubeconfig with one cluster, the advertise endpoint and the CA as
// pki/ca.crt held it then, no users; kubeadm's clusterinfo phase, CreateBootstrapConfigMapIfNotExists).
import { randomUUID } from "node:crypto";
import type { Endpoint } from "../manifests/manifest.js";
import { keyOf, seedNamespaces } from "./api-core.js";
import type { ObjectStore } from "./store.js";

/** The kubeconfig kubeadm writes into cluster-info (clientcmd's layout: one unnamed cluster, nothing else). */
export function clusterInfoKubeconfig(server: string, caPem: string): string {
  return [
    "apiVersion: v1", "clusters:", "- cluster:", `    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`, `    server: ${server}`,
    '  name: ""', "contexts: null", 'current-context: ""', "kind: Config", "preferences: {}", "users: null", "",
  ].join("\n");
}

/** Stores the namespaces and cluster-info of a fresh cluster, each only when absent. */
export function seedCluster(s: ObjectStore, o: { advertise: Endpoint; caPem: string; now?: Date }): void {
  const now = o.now ?? new Date();
  seedNamespaces(s, now);
  const key = keyOf("configmaps", "kube-public", "cluster-info");
  if (s.get(key)) return;
  const host = o.advertise.host.includes(":") ? `[${o.advertise.host}]` : o.advertise.host;
  s.put(key, {
    apiVersion: "v1", kind: "ConfigMap",
    metadata: { name: "cluster-info", namespace: "kube-public", uid: randomUUID(), creationTimestamp: now.toISOString().replace(/\.\d+Z$/, "Z") },
    data: { kubeconfig: clusterInfoKubeconfig(`https://${host}:${o.advertise.port}`, o.caPem) },
  });
}
