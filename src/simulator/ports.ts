// Free ports for a simulated control plane: its manifests' ports are rewritten so that several
// simulations side by side never collide (and never need root for 6443).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { KUBELET_CONFIG } from "../kubelet/healthz.js";
import { KUBELET_CONFIG_YAML } from "../sandbox/kubelet-config.js";
import { LAYOUT } from "../inventory/catalog.js";

/** The ports the component test doubles listen on. */
export interface SimPorts {
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  /** The kubelet's healthz (healthzPort in var/lib/kubelet/config.yaml). */
  kubeletHealthz: number;
}

/** Ports handed out by this process: the kernel may offer a closed one again, and two simulations side by side must never share one. */
const given = new Set<number>();

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** A free TCP port on 127.0.0.1, never one this process has handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const p = await probePort();
    if (!given.has(p)) {
      given.add(p);
      return p;
    }
  }
}

/**
 * Rewrites --secure-port (and kubeadm's endpoint annotation) in the manifests under `root` to free
 * ports, and the kubelet config's healthzPort (written when the tree has no kubelet config).
 */
export async function assignFreePorts(root: string): Promise<SimPorts> {
  const ports = { apiserver: await freePort(), controllerManager: await freePort(), scheduler: await freePort(), kubeletHealthz: await freePort() };
  const rewrite = async (name: string, port: number, extra?: (s: string) => string): Promise<void> => {
    const file = join(root, LAYOUT.manifestsDir, `${name}.yaml`);
    const text = (await readFile(file, "utf8")).replace(/--secure-port=\d+/, `--secure-port=${port}`);
    await writeFile(file, extra ? extra(text) : text);
  };
  await rewrite("kube-apiserver", ports.apiserver, (s) => s.replace(/(advertise-address\.endpoint: [^\n]*:)\d+/, `$1${ports.apiserver}`));
  await rewrite("kube-controller-manager", ports.controllerManager);
  await rewrite("kube-scheduler", ports.scheduler);
  const config = join(root, KUBELET_CONFIG);
  const text = await readFile(config, "utf8").catch(() => `${KUBELET_CONFIG_YAML}`);
  await mkdir(dirname(config), { recursive: true });
  await writeFile(config, /^healthzPort:/m.test(text) ? text.replace(/^healthzPort:.*$/m, `healthzPort: ${ports.kubeletHealthz}`) : `${text}healthzPort: ${ports.kubeletHealthz}\n`);
  return ports;
}
