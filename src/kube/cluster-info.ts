// Where a worker node finds the cluster's current CA certificate, as kubeadm join does: the
// ConfigMap kube-public/cluster-info (its kubeconfig's certificate-authority-data), read anonymously.
// Hardened clusters forbid anonymous reads (cluster-info is readable only through the RBAC of
// kubeadm's bootstrap-token phase); there, the kube-root-ca.crt ConfigMap of renew-certs' namespace,
// with the kubelet's own credentials: the node authorizer lets a kubelet read a ConfigMap that a pod
// bound to its node mounts, and the renew-certs DaemonSet's pod mounts that one (src/deploy). Every
// request is verified by the pinned key (pinned-https.ts) and every certificate by the pinning rule
// (pin.ts), so that both work after the node's CA certificate has expired, and neither can bring
// the node to trust another CA.
import { parse } from "yaml";
import { acceptPinned, type PinnedCa } from "./pin.js";
import { pinnedRequest, PinError, type Pin } from "./pinned-https.js";
import { ApiUnreachableError } from "./client.js";
import type { FoundCertificate } from "../ca/holders.js";
import { RenewCertsError } from "../errors.js";

/** The ConfigMap kubeadm's bootstrap-token phase makes, readable by anonymous clients. */
export const CLUSTER_INFO = { namespace: "kube-public", name: "cluster-info" } as const;
/** The ConfigMap the controller-manager publishes in every namespace from its --root-ca-file. */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";

/** What fetching the cluster's CA found. */
export type ClusterCa =
  | { kind: "found"; source: string; cert: FoundCertificate; pem: string; tried: string[] }
  /** Neither place gave a certificate; `tried` says why for each; `absent`: cluster-info does not exist. */
  | { kind: "unavailable"; tried: string[]; absent: boolean; unreachable: boolean };

/** What fetchClusterCa needs. */
export interface FetchClusterCaOptions {
  /** kubelet.conf's server. */
  endpoint: { host: string; port: number };
  pinned: PinnedCa;
  /** renew-certs' namespace (the DaemonSet's), whose kube-root-ca.crt is the fallback. */
  namespace: string;
  /** The kubelet's client certificate and key (for the fallback); without them there is none. */
  client?: { certPem: string; keyPem: string };
  timeoutMs?: number;
  now?: () => number;
}

/** The pin of a node's CA, for pinnedRequest. */
export function pinOf(p: PinnedCa): Pin {
  return { key: p.key, spki: p.held.spki, subject: p.held.subject };
}

/** data[key] of a ConfigMap's JSON, or undefined. */
function dataOf(body: string, key: string): string | undefined {
  try {
    const cm = JSON.parse(body) as { data?: Record<string, unknown> };
    const v = cm.data?.[key];
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The CA data (PEM) of cluster-info's kubeconfig: its first cluster's certificate-authority-data. */
function caOfClusterInfo(body: string): string | undefined {
  const text = dataOf(body, "kubeconfig");
  if (text === undefined) return undefined;
  try {
    const kc = parse(text) as { clusters?: { cluster?: Record<string, unknown> }[] };
    const data = kc.clusters?.[0]?.cluster?.["certificate-authority-data"];
    return typeof data === "string" ? Buffer.from(data, "base64").toString("utf8") : undefined;
  } catch {
    return undefined;
  }
}

/** What an HTTP status of a ConfigMap read means here, for people. */
function statusWords(status: number, who: "anonymous" | "kubelet"): string {
  if (status === 404) return "does not exist";
  if (status === 401) return who === "anonymous" ? "anonymous clients are refused (--anonymous-auth=false)" : "the kubelet's client certificate was refused (expired?)";
  if (status === 403) return who === "anonymous" ? "anonymous clients may not read it (a hardened cluster)" : "the kubelet may not read it (no pod of this node mounts it: is the renew-certs DaemonSet on this node?)";
  return `answered ${status}`;
}

/**
 * Fetches the cluster's CA certificate (see the top of this file): cluster-info, then the fallback.
 * Throws UNTRUSTED_CA when the API server's chain or a served certificate fails the pin: nothing
 * may be written then, and it never passes by itself.
 */
export async function fetchClusterCa(o: FetchClusterCaOptions): Promise<ClusterCa> {
  const pin = pinOf(o.pinned);
  const tried: string[] = [];
  let absent = false;
  let unreachable = false;
  const get = async (path: string, client?: FetchClusterCaOptions["client"]): Promise<{ status: number; body: string } | undefined> => {
    try {
      return await pinnedRequest({ endpoint: o.endpoint, path, pin, ...(client ? { client } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), ...(o.now ? { now: o.now } : {}) });
    } catch (e) {
      if (e instanceof PinError) {
        throw new RenewCertsError("UNTRUSTED_CA", `${e.message}. Its certificate must be signed by the CA key this node trusts (${o.pinned.hash}): ` +
          `is ${o.pinned.kubeletConf.file}'s server the cluster's API server? Nothing was written`, { file: o.pinned.kubeletConf.file });
      }
      if (!(e instanceof ApiUnreachableError)) throw e;
      unreachable = true;
      tried.push(`the API server: ${e.message}`);
      return undefined;
    }
  };
  const where = `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}`;
  const info = await get(`/api/v1/namespaces/${CLUSTER_INFO.namespace}/configmaps/${CLUSTER_INFO.name}`);
  if (info?.status === 200) {
    const pem = caOfClusterInfo(info.body);
    if (pem !== undefined) return { kind: "found", source: where, cert: acceptPinned(pem, o.pinned, where), pem, tried };
    tried.push(`${where} has no kubeconfig with certificate-authority-data`);
  } else if (info) {
    absent = info.status === 404;
    tried.push(`${where} ${statusWords(info.status, "anonymous")}`);
  }
  if (unreachable) return { kind: "unavailable", tried, absent, unreachable };
  const fallback = `${o.namespace}/${ROOT_CA_CONFIGMAP}`;
  if (!o.client) {
    tried.push(`${fallback}: no kubelet credentials to read it with`);
    return { kind: "unavailable", tried, absent, unreachable };
  }
  const root = await get(`/api/v1/namespaces/${o.namespace}/configmaps/${ROOT_CA_CONFIGMAP}`, o.client);
  if (root?.status === 200) {
    const pem = dataOf(root.body, "ca.crt");
    if (pem !== undefined) return { kind: "found", source: fallback, cert: acceptPinned(pem, o.pinned, fallback), pem, tried };
    tried.push(`${fallback} has no ca.crt`);
  } else if (root) {
    tried.push(`${fallback} (with the kubelet's credentials) ${statusWords(root.status, "kubelet")}`);
  }
  return { kind: "unavailable", tried, absent, unreachable };
}
