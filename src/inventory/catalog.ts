/**
 * What kubeadm manages: every certificate authority, leaf certificate and kubeconfig, with
 * kubeadm's three names (Name for the command line, LongName for people, BaseName for the file).
 * This is data only; scan.ts finds it on disk.
 */

/** The certificate authorities kubeadm creates. */
export type CaName = "ca" | "etcd-ca" | "front-proxy-ca";

/** A certificate authority: re-signed with its own key only by `renew-certs ca renew` (src/ca). */
export interface CaSpec {
  name: CaName;
  longName: string;
  /** Path of the .crt/.key pair, relative to /etc/kubernetes/pki, without extension. */
  baseName: string;
  commonName: string;
}

/** A renewable leaf: a .crt/.key pair under pki/, or a kubeconfig under /etc/kubernetes. */
export interface LeafSpec {
  name: string;
  longName: string;
  kind: "pair" | "kubeconfig";
  /** For a pair: path under pki/ without extension. For a kubeconfig: file name under /etc/kubernetes. */
  baseName: string;
  ca: CaName;
  /** Missing is normal (super-admin.conf exists only on the first control-plane node). */
  optional?: boolean;
}

export const CAS: readonly CaSpec[] = [
  { name: "ca", longName: "self-signed Kubernetes CA to provision identities for other Kubernetes components", baseName: "ca", commonName: "kubernetes" },
  { name: "etcd-ca", longName: "self-signed CA to provision identities for etcd", baseName: "etcd/ca", commonName: "etcd-ca" },
  { name: "front-proxy-ca", longName: "self-signed CA to provision identities for front proxy", baseName: "front-proxy-ca", commonName: "front-proxy-ca" },
];

/** Kubernetes' procedure for replacing a CA with a new key (a compromised key): `ca renew` keeps the key. */
export const CA_ROTATION_URL = "https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/";

/** kubeadm's renewable certificates, in the order `kubeadm certs check-expiration` prints them. */
export const LEAVES: readonly LeafSpec[] = [
  { name: "admin.conf", longName: "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself", kind: "kubeconfig", baseName: "admin.conf", ca: "ca" },
  { name: "apiserver", longName: "certificate for serving the Kubernetes API", kind: "pair", baseName: "apiserver", ca: "ca" },
  { name: "apiserver-etcd-client", longName: "certificate the apiserver uses to access etcd", kind: "pair", baseName: "apiserver-etcd-client", ca: "etcd-ca" },
  { name: "apiserver-kubelet-client", longName: "certificate for the API server to connect to kubelet", kind: "pair", baseName: "apiserver-kubelet-client", ca: "ca" },
  { name: "controller-manager.conf", longName: "certificate embedded in the kubeconfig file for the controller manager to use", kind: "kubeconfig", baseName: "controller-manager.conf", ca: "ca" },
  { name: "etcd-healthcheck-client", longName: "certificate for liveness probes to healthcheck etcd", kind: "pair", baseName: "etcd/healthcheck-client", ca: "etcd-ca" },
  { name: "etcd-peer", longName: "certificate for etcd nodes to communicate with each other", kind: "pair", baseName: "etcd/peer", ca: "etcd-ca" },
  { name: "etcd-server", longName: "certificate for serving etcd", kind: "pair", baseName: "etcd/server", ca: "etcd-ca" },
  { name: "front-proxy-client", longName: "certificate for the front proxy client", kind: "pair", baseName: "front-proxy-client", ca: "front-proxy-ca" },
  { name: "scheduler.conf", longName: "certificate embedded in the kubeconfig file for the scheduler manager to use", kind: "kubeconfig", baseName: "scheduler.conf", ca: "ca" },
  { name: "super-admin.conf", longName: "certificate embedded in the kubeconfig file for the super-admin", kind: "kubeconfig", baseName: "super-admin.conf", ca: "ca", optional: true },
];

/** kubelet.conf: reported, never renewed (the kubelet rotates its own client certificate). */
export const KUBELET_CONF = { name: "kubelet.conf", longName: "kubeconfig the kubelet uses (the kubelet rotates its client certificate itself)", baseName: "kubelet.conf", ca: "ca" as CaName };

/** Every name `renew` accepts. */
export const LEAF_NAMES: readonly string[] = LEAVES.map((l) => l.name);

/** Host paths of kubeadm's layout, relative to --root. */
export const LAYOUT = {
  kubernetesDir: "etc/kubernetes",
  pkiDir: "etc/kubernetes/pki",
  manifestsDir: "etc/kubernetes/manifests",
  backupDir: "var/lib/renew-certs/backups",
  stateDir: "var/lib/renew-certs",
  rootKubeconfig: "root/.kube/config",
} as const;
