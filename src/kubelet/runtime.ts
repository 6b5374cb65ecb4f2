// What renew-certs asks of the node when the kubelet does not replace a static pod by itself: the
// kubelet's log, a restart of the kubelet, and the container runtime's containers. On a host (--root
// is "/") that is journalctl, systemctl and crictl (host-runtime.ts); on a sandbox run by the test
// doubles, the kubelet double's control endpoint (sandbox-runtime.ts), so that `run --root SANDBOX`
// goes through the same code.
import { join } from "node:path";
import { existsSync } from "node:fs";
import { hostRuntime } from "./host-runtime.js";
import { sandboxRuntime, CONTROL_FILE } from "./sandbox-runtime.js";

/** A container as the container runtime lists it (crictl ps -a). */
export interface RuntimeContainer {
  id: string;
  /** The pod's name, e.g. kube-apiserver-cp-1. */
  pod: string;
  /** The container's name: the component. */
  name: string;
  state: "running" | "exited";
  /** When it was created, epoch ms. */
  createdAt: number;
}

/** Whether the kubelet runs: "unknown" where renew-certs cannot tell (a --root without a kubelet it can reach). */
export interface KubeletHealth {
  state: "running" | "down" | "unknown";
  /** What was seen: "http://127.0.0.1:10248/healthz: connection refused; kubelet.service is inactive". */
  detail: string;
}

/** What went wrong with the node's tools: said once, with what to do. */
export class RuntimeUnavailableError extends Error {}

/** The node's kubelet and container runtime. */
export interface NodeRuntime {
  /** For people: "systemd and crictl", "the kubelet double". */
  readonly name: string;
  /** Whether the kubelet runs and answers its healthz (asked again for up to a few seconds). */
  kubeletHealth(): Promise<KubeletHealth>;
  /** The kubelet's log lines since `sinceMs` (epoch ms). */
  kubeletLog(sinceMs: number): Promise<string[]>;
  /** `systemctl restart kubelet`: resolves once the kubelet runs again. */
  restartKubelet(): Promise<void>;
  /** Every container (running or exited). */
  containers(): Promise<RuntimeContainer[]>;
  /** Stops a container (its pod stays; the kubelet starts what replaces it). */
  stopContainer(id: string): Promise<void>;
}

/** No way to act on the node (a --root that is neither "/" nor a running sandbox). */
export function noRuntime(root: string): NodeRuntime {
  const fail = (): never => { throw new RuntimeUnavailableError(`--root ${root} is not this host's "/" and no kubelet double runs there: renew-certs cannot restart its kubelet`); };
  // A tree that is not this host's "/" and has no kubelet double (a mounted disk, a bare sandbox):
  // whether a kubelet would act on its manifests cannot be told from here, so the run is not refused.
  const kubeletHealth = (): Promise<KubeletHealth> => Promise.resolve({ state: "unknown", detail: `--root ${root} is not this host's "/" and no kubelet double runs there` });
  return { name: "none", kubeletHealth, kubeletLog: () => Promise.resolve([]), restartKubelet: async () => fail(), containers: () => Promise.resolve([]), stopContainer: async () => fail() };
}

/** The node runtime of `root`: the host's tools for "/", the kubelet double's for a sandbox it runs. */
export function nodeRuntimeOf(root: string): NodeRuntime {
  if (root === "/") return hostRuntime();
  if (existsSync(join(root, CONTROL_FILE))) return sandboxRuntime(root);
  return noRuntime(root);
}
