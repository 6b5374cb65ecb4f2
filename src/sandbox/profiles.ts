import type { CertProfile } from "../pki/profile.js";
import type { CaName } from "../inventory/catalog.js";

/** Facts about the sandbox host that certificates and manifests mention. */
export interface HostFacts {
  nodeName: string;
  /** The API server's advertise address (an IP). */
  address: string;
  apiserverPort: number;
  serviceIp: string;
}

/** A leaf the sandbox creates: its catalog name, its CA and kubeadm's profile for it. */
export interface SandboxLeaf {
  name: string;
  ca: CaName;
  profile: CertProfile;
  /** kubeconfig user name, for kubeconfig leaves. */
  user?: string;
}

/** kubeadm's certificate profiles (certlist.go and the kubeconfig phase) for one host. */
export function kubeadmProfiles(h: HostFacts): SandboxLeaf[] {
  const etcdSans = { dnsNames: [h.nodeName, "localhost"], ipAddresses: [...new Set([h.address, "127.0.0.1", "::1"])] };
  const both: CertProfile["usages"] = ["serverAuth", "clientAuth"];
  const apiserverIps = [...new Set([h.serviceIp, h.address])];
  return [
    { name: "admin.conf", ca: "ca", user: "kubernetes-admin", profile: { subject: "O=kubeadm:cluster-admins, CN=kubernetes-admin", usages: ["clientAuth"] } },
    {
      name: "apiserver", ca: "ca",
      profile: { subject: "CN=kube-apiserver", usages: ["serverAuth"], dnsNames: [h.nodeName, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"], ipAddresses: apiserverIps },
    },
    { name: "apiserver-etcd-client", ca: "etcd-ca", profile: { subject: "CN=kube-apiserver-etcd-client", usages: ["clientAuth"] } },
    { name: "apiserver-kubelet-client", ca: "ca", profile: { subject: "O=kubeadm:cluster-admins, CN=kube-apiserver-kubelet-client", usages: ["clientAuth"] } },
    { name: "controller-manager.conf", ca: "ca", user: "system:kube-controller-manager", profile: { subject: "CN=system:kube-controller-manager", usages: ["clientAuth"] } },
    { name: "etcd-healthcheck-client", ca: "etcd-ca", profile: { subject: "CN=kube-etcd-healthcheck-client", usages: ["clientAuth"] } },
    { name: "etcd-peer", ca: "etcd-ca", profile: { subject: `CN=${h.nodeName}`, usages: both, ...etcdSans } },
    { name: "etcd-server", ca: "etcd-ca", profile: { subject: `CN=${h.nodeName}`, usages: both, ...etcdSans } },
    { name: "front-proxy-client", ca: "front-proxy-ca", profile: { subject: "CN=front-proxy-client", usages: ["clientAuth"] } },
    { name: "scheduler.conf", ca: "ca", user: "system:kube-scheduler", profile: { subject: "CN=system:kube-scheduler", usages: ["clientAuth"] } },
    { name: "super-admin.conf", ca: "ca", user: "kubernetes-super-admin", profile: { subject: "O=system:masters, CN=kubernetes-super-admin", usages: ["clientAuth"] } },
  ];
}

/** The kubelet's client certificate (normally issued through a CSR; the sandbox signs it). */
export function kubeletProfile(h: HostFacts): CertProfile {
  return { subject: `O=system:nodes, CN=system:node:${h.nodeName}`, usages: ["clientAuth"] };
}
