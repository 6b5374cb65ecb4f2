// The cluster side of a run's CA renewal behind one small interface: read the certificate another
// host published, check it against this host's key, publish this host's own, and prove the cluster
// objects hold it (kube-public/cluster-info, every kube-root-ca.crt, extension-apiserver-
// authentication). The run (src/run/ca-cluster.ts, src/ca/run-step.ts) reads only this interface:
// apiCaCluster is the local API server's (src/ca/cluster.ts), NO_CA_CLUSTER a run without one.
import type { KeyObject, X509Certificate } from "node:crypto";
import type { CaName } from "../inventory/catalog.js";
import type { KubeClient } from "../kube/client.js";
import { checkAdoptable, proveCaInCluster, publishCa, readPublishedCa } from "./cluster.js";

/** One cluster object's proof: whether it holds the new certificate, and the evidence. */
export interface ObjectProof {
  object: string;
  holds: boolean;
  detail: string;
}

/** What a run asks of the cluster about a CA. Each call throws when the API server does not answer. */
export interface CaCluster {
  /** For people: where these calls go. */
  readonly name: string;
  /** The certificate published for `ca`, if any. */
  read(ca: CaName): Promise<{ pem: string; where: string } | undefined>;
  /** Whether a published certificate may replace this host's: same key and subject, self-signed by the key, valid. */
  checkAdoptable(published: string, local: { cert: X509Certificate; key: KeyObject }, now: Date): { ok: true } | { ok: false; why: string };
  /** Publishes this host's new certificate for `ca` (ca: cluster-info; the others: kube-system/renew-certs-ca). */
  publish(ca: CaName, pem: string): Promise<{ where: string }>;
  /** Whether each cluster object trusting `ca` holds `pem`. */
  prove(ca: CaName, pem: string): Promise<ObjectProof[]>;
}

/** No cluster access: every call says so (the run re-signs on its own and says what it could not do). */
export const NO_CA_CLUSTER: CaCluster = {
  name: "no cluster access",
  read: () => Promise.reject(new Error("the cluster objects of a CA are not reachable from this run")),
  checkAdoptable: () => ({ ok: false, why: "no cluster access" }),
  publish: () => Promise.reject(new Error("the cluster objects of a CA are not reachable from this run")),
  prove: () => Promise.reject(new Error("the cluster objects of a CA are not reachable from this run")),
};

/**
 * The cluster through the local API server (src/ca/cluster.ts), with a client made at each call:
 * admin.conf changes during a run (its CA data, its client certificate), and the API server may be
 * down before the restarts and up after them. An informational row (kubeadm-certs) never counts
 * as a proof that does not hold.
 */
export function apiCaCluster(client: () => Promise<KubeClient>): CaCluster {
  return {
    name: "the local API server",
    read: async (ca) => readPublishedCa(await client(), ca),
    checkAdoptable,
    publish: async (ca, pem) => publishCa(await client(), ca, pem),
    prove: async (ca, pem) => (await proveCaInCluster(await client(), ca, pem)).map((p) => ({ object: p.object, holds: p.holds || !p.required, detail: p.detail })),
  };
}
