// Every place a control-plane host trusts a CA, who reads it, and whether that reader picks up a
// new certificate by itself or must be restarted. One table, read by `ca renew` (what to write,
// what to restart), `ca status` (what holds which certificate) and, later, the run and doctor.
// Adding a location is one row. Sources: k8s.io/apiserver dynamiccertificates (files re-read
// without a restart), kube-controller-manager certificates.go (--root-ca-file read once at start),
// etcd#11555 (etcd does not reload its trusted CA), client-go (a kubeconfig is read at start).
import { LAYOUT, type CaName } from "../inventory/catalog.js";

/** Days before a CA's NotAfter at which its renewal is due: a year for every node and pod to pick it up. */
export const CA_RENEW_BEFORE_DAYS = 365;

/** Validity of a re-signed CA certificate, in days: kubeadm's 10 years. */
export const CA_VALIDITY_DAYS = 3650;

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

const pki = (base: string): string => `${LAYOUT.pkiDir}/${base}.crt`;
const conf = (name: string): string => `${LAYOUT.kubernetesDir}/${name}`;
const EAA = "kube-system/extension-apiserver-authentication holds the new certificate (kube-apiserver merges its file every minute)";
const NEW_PROCESS = "a new process (container id) after the restart";

/** Every trust location, in the order people read them. */
export const TRUST_LOCATIONS: readonly TrustLocation[] = [
  { ca: "ca", kind: "ca-file", path: pki("ca"), readBy: "kube-apiserver", via: "--client-ca-file", reload: "reloads", proof: EAA },
  { ca: "ca", kind: "ca-file", path: pki("ca"), readBy: "kube-controller-manager", via: "--client-ca-file", reload: "reloads", proof: "re-read by its dynamic file watcher" },
  { ca: "ca", kind: "ca-file", path: pki("ca"), readBy: "kube-controller-manager", via: "--cluster-signing-cert-file (exactly one certificate)", reload: "reloads", proof: "a certificate it signs after the renewal ends after the old NotAfter" },
  { ca: "ca", kind: "ca-file", path: pki("ca"), readBy: "kube-controller-manager", via: "--root-ca-file (publishes kube-root-ca.crt)", reload: "restart", proof: `${NEW_PROCESS}, then kube-root-ca.crt in every namespace holds the new certificate` },
  { ca: "ca", kind: "ca-file", path: pki("ca"), readBy: "kubelet", via: "clientCAFile", reload: "reloads", proof: "re-read by its dynamic file watcher" },
  { ca: "etcd-ca", kind: "ca-file", path: pki("etcd/ca"), readBy: "etcd", via: "--trusted-ca-file, --peer-trusted-ca-file", reload: "restart", proof: `${NEW_PROCESS} (etcd#11555: no reload), quorum checked before and after` },
  { ca: "etcd-ca", kind: "ca-file", path: pki("etcd/ca"), readBy: "kube-apiserver", via: "--etcd-cafile", reload: "restart", proof: NEW_PROCESS },
  { ca: "front-proxy-ca", kind: "ca-file", path: pki("front-proxy-ca"), readBy: "kube-apiserver", via: "--requestheader-client-ca-file", reload: "reloads", proof: EAA },
  { ca: "front-proxy-ca", kind: "ca-file", path: pki("front-proxy-ca"), readBy: "kube-controller-manager", via: "--requestheader-client-ca-file", reload: "reloads", proof: "re-read by its dynamic file watcher" },
  { ca: "ca", kind: "kubeconfig", path: conf("admin.conf"), readBy: "kubectl", via: "certificate-authority-data", reload: "next-command", proof: "the file holds the new certificate" },
  { ca: "ca", kind: "kubeconfig", path: conf("super-admin.conf"), readBy: "kubectl", via: "certificate-authority-data", reload: "next-command", proof: "the file holds the new certificate", optional: true },
  { ca: "ca", kind: "kubeconfig", path: conf("controller-manager.conf"), readBy: "kube-controller-manager", via: "certificate-authority-data", reload: "restart", proof: NEW_PROCESS },
  { ca: "ca", kind: "kubeconfig", path: conf("scheduler.conf"), readBy: "kube-scheduler", via: "certificate-authority-data", reload: "restart", proof: NEW_PROCESS },
  { ca: "ca", kind: "kubeconfig", path: conf("kubelet.conf"), readBy: "kubelet", via: "certificate-authority-data", reload: "restart", proof: "a new kubelet process (systemctl restart kubelet)" },
  { ca: "ca", kind: "kubeconfig", path: LAYOUT.rootKubeconfig, readBy: "kubectl", via: "certificate-authority-data", reload: "next-command", proof: "the file holds the new certificate", optional: true },
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
