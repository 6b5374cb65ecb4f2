// What every step of a run shares: where, with which settings, and the host's effects (probes,
// coordination, clocks, fault injection) behind small interfaces with real defaults.
import { join } from "node:path";
import type { Settings } from "../config/settings.js";
import type { Logger } from "../log/logger.js";
import type { AtomicWriteOptions } from "../util/atomic.js";
import { processesOf } from "../util/proc.js";
import { kubeClient } from "../kube/client.js";
import { credentialsFromKubeconfig, type ClientCredentials } from "../kube/credentials.js";
import { localApiEndpoint } from "../kube/endpoint.js";
import { httpsGet, servedIdentity } from "../kube/tls.js";
import { LAYOUT } from "../inventory/catalog.js";
import type { Coordinator } from "./coordinator.js";
import type { MirrorPod } from "./identity.js";
import type { Probes } from "./prove.js";
import type { Clock } from "./wait.js";
import type { NodeRuntime } from "../kubelet/runtime.js";
import type { CaCluster } from "../ca/cluster-port.js";

/** The shared context of a run's steps. */
export interface RunContext {
  root: string;
  settings: Settings;
  /** This node's name (settings.nodeName, else kubelet.conf's, else the host name). */
  nodeName: string;
  stateDir: string;
  log: Logger;
  probes: Probes;
  coordinator: Coordinator;
  /** The kubelet and the container runtime, for the fallbacks of a stuck kubelet (src/run/fallback.ts). */
  runtime: NodeRuntime;
  /** The clock of the renewal and of the annotations. */
  now: () => Date;
  /** The clock of the waits; default the real one. */
  clock?: Clock;
  intervalMs?: number;
  progress?: { isTTY: boolean; write: (text: string) => void };
  /** Fault injection: called after every durable step (writes and state transitions). */
  onStep?: AtomicWriteOptions["onStep"];
  /** The cluster side of a CA renewal (publish, adopt, prove); absent: none (the job gives the local API server's). */
  caCluster?: CaCluster;
  /** Aborted when the run is to stop (SIGTERM): it stops at its next wait or step (util/stop.ts). */
  signal?: AbortSignal;
}

/** admin.conf's credentials as the file is now (renewed, or restored by a rollback). */
export function adminCredentials(root: string): Promise<ClientCredentials> {
  return credentialsFromKubeconfig(join(root, LAYOUT.kubernetesDir, "admin.conf"), root);
}

/**
 * The real probes: fresh TLS connections, the mirror pods through the local API server with
 * admin.conf as it is at each call, and /proc only when --root is the running host's own "/".
 */
export function realProbes(root: string): Probes {
  return {
    tls: (endpoint, servername) => servedIdentity(endpoint, { timeoutMs: 3000, ...(servername ? { servername } : {}) }).catch(() => undefined),
    get: (o) => httpsGet(o),
    async mirrorPod(name) {
      try {
        const c = kubeClient(await localApiEndpoint(root), await adminCredentials(root), 3000);
        return await c.get<MirrorPod>(`/api/v1/namespaces/kube-system/pods/${encodeURIComponent(name)}`);
      } catch {
        return undefined;
      }
    },
    processes: (program) => (root === "/" ? processesOf(program) : []),
  };
}
