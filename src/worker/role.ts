// Which job `run` does on this host, decided once at its start. A control-plane host has the static
// pod manifests of the control plane, or a CA's private key, under /etc/kubernetes; a worker node
// has kubelet.conf and neither (kubeadm join writes only kubelet.conf, pki/ca.crt and the kubelet's
// own files there). A host with neither kubelet.conf nor the rest takes the control-plane path,
// whose checks say what is missing, as before.
import { join } from "node:path";
import { LAYOUT } from "../inventory/catalog.js";
import { exists } from "../util/fs.js";

/** The static pod manifests only a control-plane host runs. */
export const CONTROL_PLANE_MANIFESTS = ["kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml", "etcd.yaml"] as const;
/** The CA private keys a control-plane host holds (under pki/). */
export const CA_KEYS = ["ca.key", "front-proxy-ca.key", "etcd/ca.key"] as const;

/** The role of a host, and what on disk says so (for the log). */
export interface HostRole {
  role: "control-plane" | "worker";
  why: string;
}

/** The role of the host under `root` (see the top of this file). */
export async function hostRole(root: string): Promise<HostRole> {
  const present = async (dir: string, names: readonly string[]): Promise<string[]> =>
    (await Promise.all(names.map(async (n) => ((await exists(join(root, dir, n))) ? n : undefined)))).filter((n): n is string => n !== undefined);
  const manifests = await present(LAYOUT.manifestsDir, CONTROL_PLANE_MANIFESTS);
  const keys = await present(LAYOUT.pkiDir, CA_KEYS);
  const kubeletConf = join(LAYOUT.kubernetesDir, "kubelet.conf");
  if (manifests.length > 0 || keys.length > 0) {
    const said = [manifests.length > 0 ? `static pod manifests ${manifests.join(", ")}` : "", keys.length > 0 ? `CA keys ${keys.join(", ")}` : ""];
    return { role: "control-plane", why: `it has ${said.filter(Boolean).join(" and ")}` };
  }
  if (!(await exists(join(root, kubeletConf)))) return { role: "control-plane", why: `it has no /${kubeletConf}, no control-plane manifest and no CA key` };
  return {
    role: "worker",
    why: `it has /${kubeletConf} but no control-plane static pod manifest (${CONTROL_PLANE_MANIFESTS.join(", ")}) in /${LAYOUT.manifestsDir} and no CA key under /${LAYOUT.pkiDir}`,
  };
}
