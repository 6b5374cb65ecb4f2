// One new certificate per CA for the whole cluster: the first control-plane host to re-sign a CA
// publishes the certificate in the cluster, and every other host adopts that exact certificate
// after checking it against its own key instead of making its own (two hosts with two different
// certificates of one key would each trust only its own NotAfter and serial).
// - `ca`: kube-public/cluster-info, certificate-authority-data of its kubeconfig's cluster. kubeadm
//   join and the worker nodes read the CA there (kubeadm's discovery), so that is where it belongs;
//   the bootstrap signer re-signs the ConfigMap's JWS entries when it changes (measured: within 5 s).
// - `etcd-ca`, `front-proxy-ca`: ConfigMap kube-system/renew-certs-ca, keys etcd-ca.crt and
//   front-proxy-ca.crt: no Kubernetes object carries them.
import { createHash, createPublicKey, X509Certificate, type KeyObject } from "node:crypto";
import type { CaName } from "../inventory/catalog.js";
import { ApiError, type KubeClient } from "../kube/client.js";
import { RenewCertsError } from "../errors.js";
import { certificatesIn } from "./holders.js";
import { caPartsOf } from "./parts.js";
import { clusterInfoCa, withClusterInfoCa } from "./cluster-info.js";

/** kube-public/cluster-info, where kubeadm publishes the cluster's CA (bootstrap-token phase). */
export const CLUSTER_INFO = { namespace: "kube-public", name: "cluster-info", key: "kubeconfig" } as const;

/** The ConfigMap renew-certs publishes etcd-ca and front-proxy-ca in; key `<ca>.crt`. */
export const PUBLISHED_CAS = { namespace: "kube-system", name: "renew-certs-ca" } as const;

type ConfigMap = { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string; resourceVersion?: string }; data?: Record<string, string> };

const pathOf = (o: { namespace: string; name: string }): string => `/api/v1/namespaces/${o.namespace}/configmaps/${o.name}`;

/** Where `ca` is published, for people. */
export function publishedWhere(ca: CaName): string {
  return ca === "ca" ? `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name} (certificate-authority-data)` : `${PUBLISHED_CAS.namespace}/${PUBLISHED_CAS.name} (${ca}.crt)`;
}

async function getOrUndefined(client: KubeClient, path: string): Promise<ConfigMap | undefined> {
  try {
    return await client.get<ConfigMap>(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

/**
 * The CA certificate published for the whole cluster: ca in kube-public/cluster-info's kubeconfig; etcd-ca and front-proxy-ca in ConfigMap kube-
 * system/renew-certs-ca (keys etcd-ca.crt, front-proxy-ca.crt).
 */
export async function readPublishedCa(client: KubeClient, ca: CaName): Promise<{ pem: string; where: string } | undefined> {
  const where = publishedWhere(ca);
  if (ca === "ca") {
    const cm = await getOrUndefined(client, pathOf(CLUSTER_INFO));
    const text = cm?.data?.[CLUSTER_INFO.key];
    return text === undefined ? undefined : { pem: await clusterInfoCa(text), where };
  }
  const pem = (await getOrUndefined(client, pathOf(PUBLISHED_CAS)))?.data?.[`${ca}.crt`];
  return pem ? { pem, where } : undefined;
}

/**
 * Publishes `pem` (cluster-info: replace only certificate-authority-data of its cluster, keep everything else; renew-certs-ca: create or update with
 * resourceVersion, retry once on 409).
 */
export async function publishCa(client: KubeClient, ca: CaName, pem: string): Promise<{ where: string }> {
  const where = publishedWhere(ca);
  for (let attempt = 0; ; attempt++) {
    try {
      await publishOnce(client, ca, pem);
      return { where };
    } catch (e) {
      // Another host wrote meanwhile (409 Conflict or AlreadyExists): read again and write once more.
      if (attempt === 0 && e instanceof ApiError && e.status === 409) continue;
      throw e;
    }
  }
}

async function publishOnce(client: KubeClient, ca: CaName, pem: string): Promise<void> {
  if (ca === "ca") {
    const cm = await getOrUndefined(client, pathOf(CLUSTER_INFO));
    const text = cm?.data?.[CLUSTER_INFO.key];
    if (!cm || text === undefined) {
      throw new RenewCertsError("KUBECONFIG", `${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name} is missing or holds no kubeconfig: kubeadm makes it ` +
        "(kubeadm init phase bootstrap-token); make it again that way, then run again", { file: publishedWhere(ca) });
    }
    await client.update(pathOf(CLUSTER_INFO), { ...cm, data: { ...cm.data, [CLUSTER_INFO.key]: await withClusterInfoCa(text, pem) } });
    return;
  }
  const cm = await getOrUndefined(client, pathOf(PUBLISHED_CAS));
  const key = `${ca}.crt`;
  if (!cm) {
    await client.create(`/api/v1/namespaces/${PUBLISHED_CAS.namespace}/configmaps`, {
      apiVersion: "v1", kind: "ConfigMap", metadata: { name: PUBLISHED_CAS.name, namespace: PUBLISHED_CAS.namespace }, data: { [key]: pem },
    });
    return;
  }
  if (cm.data?.[key] === pem) return;
  await client.update(pathOf(PUBLISHED_CAS), { ...cm, data: { ...cm.data, [key]: pem } });
}

/** The SHA-256 of a SubjectPublicKeyInfo, as `kubeadm join --discovery-token-ca-cert-hash` writes it ("sha256:<hex>"). */
export function keyPin(spkiDer: Uint8Array): string {
  return `sha256:${createHash("sha256").update(spkiDer).digest("hex")}`;
}

/**
 * Whether a published certificate may replace this host's: same SubjectPublicKeyInfo DER as the host's CA certificate AND its key, same subject DER
 * bytes, self-signed by that key (signature verifies), a CA (basicConstraints), not expired at `now`. Returns the reason when not.
 */
export function checkAdoptable(published: string, local: { cert: X509Certificate; key: KeyObject }, now: Date): { ok: true } | { ok: false; why: string } {
  const no = (why: string): { ok: false; why: string } => ({ ok: false, why });
  const found = certificatesIn(published, "the published CA certificate");
  if (found.length !== 1) return no(found.length === 0 ? "it is not a PEM certificate" : `it holds ${found.length} certificates, not one (kubeadm reads only the first)`);
  const pub = found[0]!;
  const localParts = caPartsOf(local.cert.raw, "this host's CA certificate");
  const keySpki = createPublicKey(local.key).export({ type: "spki", format: "der" });
  if (!localParts.spki.equals(keySpki)) return no(`this host's CA key (${keyPin(keySpki)}) does not match its own certificate (${keyPin(localParts.spki)})`);
  if (!pub.spki.equals(keySpki)) {
    return no(`it has another key: published ${keyPin(pub.spki)}, this host's CA key ${keyPin(keySpki)} (a certificate of another key is never adopted: ` +
      "this host's leaves would no longer chain to it)");
  }
  if (!pub.subject.equals(localParts.subject)) {
    return no("its subject is not byte for byte this host's CA subject (Go matches a leaf's issuer to its CA's subject by raw bytes: every leaf would be orphaned)");
  }
  const pubParts = caPartsOf(pub.der, "the published CA certificate");
  if (!pubParts.issuer.equals(pubParts.subject) || !pub.x509.verify(createPublicKey(local.key))) return no("it is not self-signed by this host's CA key (its signature does not verify)");
  if (!pub.x509.ca) return no("it is not a CA certificate (no basicConstraints CA:TRUE)");
  if (Date.parse(pub.x509.validTo) <= now.getTime()) return no(`it expired on ${new Date(pub.x509.validTo).toISOString()}`);
  if (Date.parse(pub.x509.validFrom) > now.getTime()) return no(`it is not valid before ${new Date(pub.x509.validFrom).toISOString()} (this host's clock is behind?)`);
  return { ok: true };
}
