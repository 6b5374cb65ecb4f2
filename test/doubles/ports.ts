// Free ports for the component test doubles: a test's copy of the sandbox gets its manifests'
// ports rewritten, so that tests running side by side never collide (and never need root for 6443).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LAYOUT } from "../../src/inventory/catalog.js";
import { freePort } from "../support/etcd.js";

/** The ports the component test doubles listen on. */
export interface DoublePorts {
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

/** Rewrites --secure-port (and kubeadm's endpoint annotation) in the manifests under `root` to free ports. */
export async function assignFreePorts(root: string): Promise<DoublePorts> {
  const ports = { apiserver: await freePort(), controllerManager: await freePort(), scheduler: await freePort() };
  const rewrite = async (name: string, port: number, extra?: (s: string) => string): Promise<void> => {
    const file = join(root, LAYOUT.manifestsDir, `${name}.yaml`);
    const text = (await readFile(file, "utf8")).replace(/--secure-port=\d+/, `--secure-port=${port}`);
    await writeFile(file, extra ? extra(text) : text);
  };
  await rewrite("kube-apiserver", ports.apiserver, (s) => s.replace(/(advertise-address\.endpoint: [^\n]*:)\d+/, `$1${ports.apiserver}`));
  await rewrite("kube-controller-manager", ports.controllerManager);
  await rewrite("kube-scheduler", ports.scheduler);
  return ports;
}
