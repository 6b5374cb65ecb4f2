// The cluster objects that carry a CA certificate, once per cluster, and the proof that each holds
// the new one. The host's files are in trust-locations.ts; these are the objects beside them: one
// table, one row per object, read by the proofs, `ca status` and the docs. Sources: kube-apiserver's
// cluster authentication trust controller (merges its client CA files every minute, drops only
// expired certificates), kube-controller-manager's root CA publisher (--root-ca-file read at start),
// kubeadm's bootstrap-token phase (cluster-info) and upload-certs phase (kubeadm-certs, 2 hours).
import type { CaName } from "../inventory/catalog.js";
import { ApiError, type KubeClient } from "../kube/client.js";
import { certificatesIn } from "./holders.js";
import { CLUSTER_INFO, PUBLISHED_CAS, readPublishedCa } from "./publication.js";

/** One kind of cluster object that carries a CA certificate. */
export interface ClusterObject {
  /** The CAs whose certificate it carries. */
  cas: readonly CaName[];
  /** namespace/name, and the key (or field) that holds the certificate. */
  object: string;
  key: string;
  /** Who writes it, and when it changes. */
  writtenBy: string;
  readBy: string;
  /** How it is proven to hold the new certificate. */
  proof: string;
  /** False: the row informs, it does not hold up a run. */
  required: boolean;
}

const EAA = "kube-system/extension-apiserver-authentication";

/** Every cluster object that carries a CA, in the order people read them. */
export const CLUSTER_OBJECTS: readonly ClusterObject[] = [
  {
    cas: ["ca"],
    object: EAA,
    key: "client-ca-file",
    writtenBy: "kube-apiserver, merging its --client-ca-file every minute without a restart",
    readBy: "extension API servers, controller-manager, scheduler (client authentication)",
    proof: "the bundle holds the new certificate: kube-apiserver re-read its file",
    required: true,
  },
  {
    cas: ["front-proxy-ca"],
    object: EAA,
    key: "requestheader-client-ca-file",
    writtenBy: "kube-apiserver, merging its --requestheader-client-ca-file every minute",
    readBy: "extension API servers (front proxy authentication)",
    proof: "the bundle holds the new certificate",
    required: true,
  },
  {
    cas: ["ca"],
    object: "<every namespace>/kube-root-ca.crt",
    key: "ca.crt",
    writtenBy: "kube-controller-manager, from the --root-ca-file it read at its start (restart needed)",
    readBy: "every pod's service account volume (in-cluster clients)",
    proof: "the ConfigMap of every namespace holds the new certificate",
    required: true,
  },
  {
    cas: ["ca"],
    object: `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}`,
    key: "certificate-authority-data",
    writtenBy: "kubeadm init; renew-certs publishes the new certificate there",
    readBy: "kubeadm join and worker nodes (discovery)",
    proof: "its cluster's CA data is exactly the new certificate",
    required: true,
  },
  {
    cas: ["etcd-ca", "front-proxy-ca"],
    object: `${PUBLISHED_CAS.namespace}/${PUBLISHED_CAS.name}`,
    key: "<ca>.crt",
    writtenBy: "renew-certs, on the first host that renews the CA",
    readBy: "renew-certs on the other control-plane hosts (adoption)",
    proof: "the key is exactly the new certificate",
    required: true,
  },
  {
    cas: ["ca", "etcd-ca", "front-proxy-ca"],
    object: "kube-system/kubeadm-certs",
    key: "(encrypted with the certificate key)",
    writtenBy: "kubeadm init --upload-certs or kubeadm init phase upload-certs",
    readBy: "kubeadm join --control-plane, for 2 hours (then its token deletes it)",
    proof: "cannot be read without the certificate key: reported when present",
    required: false,
  },
];

/** One proven object. */
export interface ClusterProof {
  object: string;
  holds: boolean;
  detail: string;
  /** False: information only (kubeadm-certs). */
  required: boolean;
}

type ConfigMap = { metadata: { name: string; namespace: string; creationTimestamp?: string }; data?: Record<string, string> };

const derOf = (pem: string): Buffer | undefined => certificatesIn(pem, "certificate")[0]?.der;

/** Whether a PEM bundle holds the certificate `der`, and how many certificates it has. */
function bundleHolds(bundle: string | undefined, der: Buffer): { holds: boolean; count: number } {
  const found = certificatesIn(bundle ?? "", "bundle");
  return { holds: found.some((c) => c.der.equals(der)), count: found.length };
}

async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

/**
 * Proofs that the cluster trusts `pem` for `ca`: extension-apiserver-authentication holds it (ca: client-ca-file; front-proxy-ca: requestheader-client-
 * ca-file); kube-root-ca.crt in EVERY namespace holds it (ca); cluster-info holds it (ca). One row per object: name, holds (boolean), detail.
 */
export async function proveCaInCluster(client: KubeClient, ca: CaName, pem: string): Promise<ClusterProof[]> {
  const der = derOf(pem);
  if (!der) throw new Error(`proveCaInCluster: not a PEM certificate for ${ca}`);
  const rows: ClusterProof[] = [];
  const row = (object: string, holds: boolean, detail: string, required = true): void => { rows.push({ object, holds, detail, required }); };
  const eaaKey = CLUSTER_OBJECTS.find((o) => o.object === EAA && o.cas.includes(ca))?.key;
  if (eaaKey) {
    const eaa = await getOrUndefined<ConfigMap>(client, `/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication`);
    const r = bundleHolds(eaa?.data?.[eaaKey], der);
    row(`${EAA} (${eaaKey})`, r.holds, !eaa ? "missing: kube-apiserver has not written it" : r.holds
      ? `holds the new certificate (${r.count} in the bundle): kube-apiserver re-read its file`
      : `${r.count} certificate(s), not the new one: kube-apiserver has not re-read its file yet (it merges every minute)`);
  }
  if (ca === "ca") {
    const namespaces = (await client.get<{ items: { metadata: { name: string } }[] }>("/api/v1/namespaces")).items.map((n) => n.metadata.name).sort();
    const maps = new Map((await client.get<{ items: ConfigMap[] }>("/api/v1/configmaps")).items
      .filter((c) => c.metadata.name === "kube-root-ca.crt").map((c) => [c.metadata.namespace, c]));
    for (const ns of namespaces) {
      const cm = maps.get(ns);
      const r = bundleHolds(cm?.data?.["ca.crt"], der);
      row(`${ns}/kube-root-ca.crt`, r.holds, !cm ? "missing: kube-controller-manager has not published it in this namespace" : r.holds
        ? "holds the new certificate"
        : "holds the old certificate: kube-controller-manager publishes the --root-ca-file it read at its start; restart it");
    }
  }
  const published = await readPublishedCa(client, ca);
  const where = ca === "ca" ? `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}` : `${PUBLISHED_CAS.namespace}/${PUBLISHED_CAS.name} (${ca}.crt)`;
  const first = published ? derOf(published.pem) : undefined;
  row(where, first?.equals(der) === true, !published ? "not published" : first?.equals(der)
    ? "holds the new certificate"
    : "holds another certificate (kubeadm reads only the first): publish the new one");
  const certs = await getOrUndefined<ConfigMap>(client, "/api/v1/namespaces/kube-system/secrets/kubeadm-certs");
  if (certs) {
    row("kube-system/kubeadm-certs", false, `present (made ${certs.metadata.creationTimestamp ?? "at an unknown time"}): it holds the CA files as they were when ` +
      "uploaded, encrypted with the certificate key; a control plane joining with it within its 2 hours gets those, which may be the old " +
      "certificate: run `kubeadm init phase upload-certs --upload-certs` on a renewed host before such a join", false);
  }
  return rows;
}
