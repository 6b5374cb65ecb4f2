// Where this host's API server answers, and the node it runs on.
import { join } from "node:path";
import { hostname } from "node:os";
import { LAYOUT } from "../inventory/catalog.js";
import { readManifest, type Endpoint } from "../manifests/manifest.js";
import { exists, readText } from "../util/fs.js";

/** The local API server's endpoint, from its static pod manifest (fallback 127.0.0.1:6443). */
export async function localApiEndpoint(root: string): Promise<Endpoint> {
  const file = join(root, LAYOUT.manifestsDir, "kube-apiserver.yaml");
  if (!(await exists(file))) return { host: "127.0.0.1", port: 6443 };
  return (await readManifest(file)).advertiseEndpoint;
}

/**
 * This node's name: `configured` when set, else the one kubelet.conf's user carries
 * ("system:node:<name>", as kubeadm writes it: what the mirror pods and the Node are named
 * after), else the host name.
 */
export async function nodeNameOf(root: string, configured: string): Promise<string> {
  if (configured) return configured;
  const text = await readText(join(root, LAYOUT.kubernetesDir, "kubelet.conf"), "kubeconfig").catch(() => "");
  return /system:node:([^\s@"']+)/.exec(text)?.[1] ?? hostname();
}
