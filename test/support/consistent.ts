// Checks for "the host is in one consistent state": every key matches its certificate and every
// certificate chains to its CA, and every simulated component runs the files now on disk.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { scanInventory } from "../../src/inventory/scan.js";
import { loadCa, loadLeaf } from "../../src/renewal/material.js";
import { readManifest } from "../../src/manifests/manifest.js";
import { servedIdentity, sameFingerprint } from "../../src/kube/tls.js";
import type { KubeletDouble } from "../../src/simulator/kubelet.js";

/** Every problem found with the PKI under `root` (none: every pair matches and chains). */
export async function pkiProblems(root: string): Promise<string[]> {
  const inv = await scanInventory(root);
  const out: string[] = [];
  for (const leaf of inv.leaves) {
    if (leaf.missing || leaf.externallyManaged) continue;
    try {
      await loadLeaf(leaf, await loadCa(leaf.ca));
    } catch (e) {
      out.push((e as Error).message);
    }
  }
  return out;
}

/** The files each component loads at its start and keeps in memory. */
const LOADS: Record<string, string[]> = {
  "kube-apiserver": ["etc/kubernetes/pki/apiserver-etcd-client.crt", "etc/kubernetes/pki/apiserver-kubelet-client.crt", "etc/kubernetes/pki/front-proxy-client.crt"],
  "kube-controller-manager": ["etc/kubernetes/controller-manager.conf"],
  "kube-scheduler": ["etc/kubernetes/scheduler.conf"],
};

/**
 * Components that do not run the files on disk (none: each started after they were last written, and
 * the API server serves apiserver.crt). `reloading`: components left running that re-read their
 * client certificates from disk (restart mode minimal: kube-apiserver v1.23 and later), judged by
 * what they serve only.
 */
export async function staleComponents(root: string, kubelet: KubeletDouble, reloading: string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const [component, files] of Object.entries(LOADS)) {
    const p = kubelet.running(component);
    if (!p) {
      out.push(`${component}: not running`);
      continue;
    }
    if (reloading.includes(component)) continue;
    for (const f of files) {
      const m = (await stat(join(root, f))).mtimeMs;
      if (p.startedAt < m) out.push(`${component}: started ${new Date(p.startedAt).toISOString()}, before ${f} changed`);
    }
  }
  const m = await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"));
  const served = await servedIdentity(m.advertiseEndpoint).catch(() => undefined);
  const onDisk = (await scanInventory(root)).leaves.find((l) => l.spec.name === "apiserver")?.cert?.x509.fingerprint256;
  if (!sameFingerprint(served?.fingerprint, onDisk)) out.push("kube-apiserver: does not serve pki/apiserver.crt");
  return out;
}
