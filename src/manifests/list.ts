import { join } from "node:path";
import { LAYOUT } from "../inventory/catalog.js";
import { exists } from "../util/fs.js";

/** One static pod manifest to restart. */
export interface ManifestRef {
  /** The component, as settings.manifests names it ("kube-apiserver"). */
  component: string;
  /** Absolute path under --root. */
  file: string;
}

/** The manifests to restart and the configured ones that are not there. */
export interface RestartList {
  present: ManifestRef[];
  /** Configured but absent (kube-proxy is usually a DaemonSet, etcd may be external): skipped. */
  missing: ManifestRef[];
}

/** A configured name as a component: "kube-apiserver.yaml" and "kube-apiserver" are the same. */
function componentName(name: string): string {
  return name.replace(/\.(yaml|yml|json)$/, "");
}

/**
 * The order of restarts: kube-apiserver first (everything else talks to it), then the others in
 * the configured order, each once. Pure.
 */
export function restartOrder(names: readonly string[]): string[] {
  const unique = [...new Set(names.map(componentName))];
  return [...unique.filter((n) => n === "kube-apiserver"), ...unique.filter((n) => n !== "kube-apiserver")];
}

/**
 * The manifests under `root` to restart, from settings.manifests (default kube-apiserver,
 * kube-controller-manager, kube-scheduler, kube-proxy; etcd only when listed). Files that do not
 * exist are skipped and reported in `missing`.
 */
export async function manifestsToRestart(root: string, names: readonly string[]): Promise<RestartList> {
  const out: RestartList = { present: [], missing: [] };
  for (const component of restartOrder(names)) {
    const ref = { component, file: join(root, LAYOUT.manifestsDir, `${component}.yaml`) };
    (await exists(ref.file) ? out.present : out.missing).push(ref);
  }
  return out;
}
