// The inputs of the cluster view (cluster-view.ts): every Node, and the CA to judge them by. The
// current CA is, first, this control plane's pki/ca.crt with its record (ca/record.ts: the
// certificate it replaced and the deadline); else the one the cluster publishes in
// kube-public/cluster-info; else the one the kubeconfig used trusts (a workstation).
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { LAYOUT } from "../inventory/catalog.js";
import { RenewCertsError } from "../errors.js";
import { readCaRecord } from "../ca/record.js";
import { ApiError, ApiUnreachableError, type KubeClient } from "../kube/client.js";
import { sameFingerprint } from "../kube/tls.js";
import { connectCluster } from "./connect.js";
import { clusterView, type CaFacts, type ClusterView, type NodeObject } from "./cluster-view.js";

const firstCert = (pem: string | undefined): X509Certificate | undefined => {
  const block = pem ? /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(pem)?.[0] : undefined;
  try {
    return block ? new X509Certificate(block) : undefined;
  } catch {
    return undefined;
  }
};

/** The CA certificate kube-public/cluster-info publishes, or undefined when it cannot be read. */
async function publishedCa(client: KubeClient): Promise<X509Certificate | undefined> {
  try {
    const cm = await client.get<{ data?: { kubeconfig?: string } }>("/api/v1/namespaces/kube-public/configmaps/cluster-info");
    const data = /certificate-authority-data:\s*"?([A-Za-z0-9+/=]+)/.exec(cm.data?.kubeconfig ?? "")?.[1];
    return firstCert(data ? Buffer.from(data, "base64").toString("utf8") : undefined);
  } catch {
    return undefined;
  }
}

/** The CA facts of this host (pki/ca.crt and its record under `root`), when it is a control plane. */
export async function hostCaFacts(root: string): Promise<CaFacts | undefined> {
  const ca = firstCert(await readFile(join(root, LAYOUT.pkiDir, "ca.crt"), "utf8").catch(() => undefined));
  if (!ca) return undefined;
  const record = await readCaRecord(root, "ca");
  // A record that names another certificate (a restored backup) says nothing of this one.
  const mine = record && sameFingerprint(record.fingerprint256, ca.fingerprint256) ? record : undefined;
  return {
    current: { fingerprint: ca.fingerprint256, notAfter: new Date(ca.validTo), source: join(LAYOUT.pkiDir, "ca.crt") },
    ...(mine ? { previous: { fingerprint: mine.previous.fingerprint256, notAfter: new Date(mine.previous.notAfter) } } : {}),
    deadline: mine
      ? { at: new Date(mine.deadline), source: "the previous CA certificate's NotAfter, from the CA's record" }
      : { at: new Date(ca.validTo), source: "the CA certificate's own NotAfter: no renewal of it is recorded" },
  };
}

/** Every Node of the cluster. */
export async function listNodes(client: KubeClient): Promise<NodeObject[]> {
  return (await client.get<{ items?: NodeObject[] }>("/api/v1/nodes")).items ?? [];
}

/**
 * The cluster view through `kubeconfig` (or admin.conf under `root`): the CA from this host when
 * it is a control plane and no other kubeconfig was given, else as the top of this file says.
 */
export async function readCluster(o: { root: string; kubeconfig?: string; now: Date; staleAfterDays?: number }): Promise<ClusterView> {
  const conn = await connectCluster(o);
  const nodes = await listNodes(conn.client).catch((e: unknown) => {
    if (!(e instanceof ApiError || e instanceof ApiUnreachableError)) throw e;
    const why = e instanceof ApiError && (e.status === 401 || e.status === 403) ? ": its user must be able to list Nodes" : "";
    throw new RenewCertsError("CLUSTER_UNREADABLE", `could not list the Nodes through ${conn.file}: ${e.message}${why}`, { file: conn.file, cause: e });
  });
  let ca = o.kubeconfig ? undefined : await hostCaFacts(o.root);
  if (!ca) {
    const published = await publishedCa(conn.client);
    const cert = published ?? firstCert(conn.caPem);
    if (!cert) throw new RenewCertsError("KUBECONFIG", `no CA certificate to judge the nodes by: ${conn.file} holds none and kube-public/cluster-info cannot be read: add certificate-authority-data`, { file: conn.file });
    const source = published ? "kube-public/cluster-info" : `the kubeconfig ${conn.file}`;
    ca = { current: { fingerprint: cert.fingerprint256, notAfter: new Date(cert.validTo), source }, deadline: { at: new Date(cert.validTo), source: "the current CA certificate's NotAfter (no record of a renewal here)" } };
  }
  return clusterView(nodes, ca, o.now, o.staleAfterDays);
}

/** How many Nodes hold a CA certificate that is not the current one, for the metrics file (undefined when this host is no control plane). */
export async function oldCaCount(root: string, client: KubeClient, now: Date): Promise<{ oldCa: number; deadline: Date } | undefined> {
  const ca = await hostCaFacts(root);
  if (!ca) return undefined;
  const v = clusterView(await listNodes(client), ca, now);
  return { oldCa: v.nodes.filter((n) => n.ca === "old" || n.ca === "other").length, deadline: ca.deadline.at };
}
