// Free ports for a simulated control plane: its manifests' ports are rewritten so that several
// simulations side by side, in this process or in others, never collide (and never need root for 6443).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { KUBELET_CONFIG } from "../kubelet/healthz.js";
import { KUBELET_CONFIG_YAML } from "../sandbox/kubelet-config.js";
import { LAYOUT } from "../inventory/catalog.js";
import { BLOCK_SIZE, portClaims } from "./port-claims.js";

/** The ports the component test doubles listen on. */
export interface SimPorts {
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  /** The kubelet's healthz (healthzPort in var/lib/kubelet/config.yaml). */
  kubeletHealthz: number;
}

/** Ports handed out by this process when no block could be claimed: two simulations side by side must never share one. */
const given = new Set<number>();
const claims = portClaims();
let block: { next: number; end: number } | undefined;

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", (e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" || e.code === "EACCES" ? resolve(undefined) : reject(e)));
    s.listen(port, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === "object" && addr ? addr.port : undefined));
    });
  });
}

/** A port the kernel offers (its ephemeral range): only when no block can be claimed. */
async function ephemeralPort(): Promise<number> {
  for (;;) {
    const p = await listenOn(0);
    if (p !== undefined && !given.has(p)) {
      given.add(p);
      return p;
    }
  }
}

/**
 * A free TCP port on 127.0.0.1, from a block this process has claimed (port-claims.ts): never one
 * handed out before, by this process or by another that uses this module, nor one the kernel gives
 * to a bind to port 0 or to an outgoing connection.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    if (!block || block.next >= block.end) {
      const start = claims.claim();
      if (start === undefined) return ephemeralPort();
      block = { next: start, end: start + BLOCK_SIZE };
    }
    const p = block.next++;
    if ((await listenOn(p)) !== undefined) return p; // else something outside these simulations listens there
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
