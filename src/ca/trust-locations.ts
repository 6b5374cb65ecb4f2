// Every place a control-plane host trusts a CA, who reads it, and whether that reader picks up a
// new certificate by itself or must be restarted. One table, read by `ca renew` (what to write,
// what to restart), `ca status` (what holds which certificate) and, later, the run and doctor.
// Adding a location is one row. Sources: k8s.io/apiserver dynamiccertificates (files re-read
// without a restart), kube-controller-manager certificates.go (--root-ca-file read once at start),
// etcd#11555 (etcd does not reload its trusted CA), client-go (a kubeconfig is read at start).
// The objects that carry a CA once per cluster (extension-apiserver-authentication, kube-root-ca.crt,
// cluster-info, renew-certs-ca, kubeadm-certs) have their own table: CLUSTER_OBJECTS in cluster-proof.ts.
import { LAYOUT, type CaName } from "../inventory/catalog.js";

/** Who reads a trust location. */
export type Reader = "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kubelet" | "etcd" | "kubectl";

/**
 * How a reader picks up a new CA certificate: "reloads" (re-reads the file while running),
 * "restart" (read once at start: the process must be restarted before the deadline),
 * "next-command" (a command-line client: each invocation reads it anew).
 */
export type Reload = "reloads" | "restart" | "next-command";

/** One place a CA is trusted on a control-plane host. */
export interface TrustLocation {
  ca: CaName;
  /** "ca-file": the CA's own .crt; "kubeconfig": certificate-authority-data of the current cluster. */
  kind: "ca-file" | "kubeconfig";
  /** Path under --root. */
  path: string;
  readBy: Reader;
  /** The flag or field that names it, for people. */
  via: string;
  reload: Reload;
  /** How a run proves the reader holds the new certificate (for people; the proofs come later). */
  proof: string;
  /** Missing is normal (super-admin.conf only on the first host; /root/.kube/config when nobody made it). */
  optional?: boolean;
}

const EAA = "kube-system/extension-apiserver-authentication holds the new certificate (kube-apiserver merges its file every minute)";
const NEW_PROCESS = "a new process (container id) after the restart";
const WATCHED = "re-read by its dynamic file watcher";
const IN_FILE = "the file holds the new certificate";

/** A row for a CA's own file (pki/<base>.crt). */
function caFile(ca: CaName, base: string, readBy: Reader, via: string, reload: Reload, proof: string): TrustLocation {
  return { ca, kind: "ca-file", path: `${LAYOUT.pkiDir}/${base}.crt`, readBy, via, reload, proof };
}

/** A row for a kubeconfig's certificate-authority-data (a path under --root). */
function kubeconfig(path: string, readBy: Reader, reload: Reload, proof: string, optional = false): TrustLocation {
  return { ca: "ca", kind: "kubeconfig", path, readBy, via: "certificate-authority-data", reload, proof, ...(optional ? { optional } : {}) };
}

const conf = (name: string): string => `${LAYOUT.kubernetesDir}/${name}`;

/** Every trust location, in the order people read them. */
export const TRUST_LOCATIONS: readonly TrustLocation[] = [
  caFile("ca", "ca", "kube-apiserver", "--client-ca-file", "reloads", EAA),
  caFile("ca", "ca", "kube-controller-manager", "--client-ca-file", "reloads", WATCHED),
  caFile("ca", "ca", "kube-controller-manager", "--cluster-signing-cert-file (exactly one certificate)", "reloads",
    "a certificate it signs after the renewal ends after the old NotAfter"),
  caFile("ca", "ca", "kube-controller-manager", "--root-ca-file (publishes kube-root-ca.crt)", "restart",
    `${NEW_PROCESS}, then kube-root-ca.crt in every namespace holds the new certificate`),
  caFile("ca", "ca", "kubelet", "clientCAFile", "reloads", WATCHED),
  caFile("etcd-ca", "etcd/ca", "etcd", "--trusted-ca-file, --peer-trusted-ca-file", "restart",
    `${NEW_PROCESS} (etcd#11555: no reload), quorum checked before and after`),
  caFile("etcd-ca", "etcd/ca", "kube-apiserver", "--etcd-cafile", "restart", NEW_PROCESS),
  caFile("front-proxy-ca", "front-proxy-ca", "kube-apiserver", "--requestheader-client-ca-file", "reloads", EAA),
  caFile("front-proxy-ca", "front-proxy-ca", "kube-controller-manager", "--requestheader-client-ca-file", "reloads", WATCHED),
  kubeconfig(conf("admin.conf"), "kubectl", "next-command", IN_FILE),
  kubeconfig(conf("super-admin.conf"), "kubectl", "next-command", IN_FILE, true),
  kubeconfig(conf("controller-manager.conf"), "kube-controller-manager", "restart", NEW_PROCESS),
  kubeconfig(conf("scheduler.conf"), "kube-scheduler", "restart", NEW_PROCESS),
  kubeconfig(conf("kubelet.conf"), "kubelet", "restart", "a new kubelet process (systemctl restart kubelet)"),
  kubeconfig(LAYOUT.rootKubeconfig, "kubectl", "next-command", IN_FILE, true),
];

/** The trust locations of one CA. */
export function locationsOf(ca: CaName): TrustLocation[] {
  return TRUST_LOCATIONS.filter((l) => l.ca === ca);
}

/** The distinct files of a CA's trust locations, the CA file first. */
export function filesOf(ca: CaName): { path: string; kind: TrustLocation["kind"]; optional: boolean }[] {
  const out = new Map<string, { path: string; kind: TrustLocation["kind"]; optional: boolean }>();
  for (const l of locationsOf(ca)) if (!out.has(l.path)) out.set(l.path, { path: l.path, kind: l.kind, optional: l.optional === true });
  return [...out.values()];
}

/** The readers of a CA that must be restarted to use a new certificate, each with why. */
export function restartsFor(ca: CaName): { reader: Reader; why: string[] }[] {
  const out = new Map<Reader, string[]>();
  for (const l of locationsOf(ca)) {
    if (l.reload !== "restart") continue;
    const why = `${l.path} (${l.via})`;
    out.set(l.readBy, [...(out.get(l.readBy) ?? []), why]);
  }
  return [...out].map(([reader, why]) => ({ reader, why }));
}
