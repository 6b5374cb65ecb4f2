// A sandbox control plane run by the simulator's test doubles (src/simulator), for one test: the
// kubelet double starts the component processes and is stopped (with them) after the test.
import type { TestContext } from "node:test";
import { copySandbox } from "./sandbox.js";
import { onCleanup } from "./cleanup.js";
import type { SandboxOptions } from "../../src/sandbox/sandbox.js";
import { assignFreePorts, type SimPorts } from "../../src/simulator/ports.js";
import { startKubeletDouble, type BehaviourFn, type KubeletDouble } from "../../src/simulator/kubelet.js";
import type { SimOptions } from "../../src/simulator/timing.js";
import { DEFAULT_SETTINGS } from "../../src/config/settings.js";

/** Real durations times 0.01: a kube-apiserver restart takes about half a second. */
export const TEST_SIM: SimOptions = { timeScale: 0.01, loopbackValidityDays: 365, apiserverReloads: true };

/**
 * The API server's pod from before the run stays down until the run's restart replaces it, renewed
 * files or not: on a host whose certificates expired weeks ago its crash loop backs off five
 * minutes between starts, longer than a run lasts. So the kubelet, which has not reached the API
 * server since it started, never replaces the pod by itself, and the run's fallback (restarting the
 * kubelet) is always what brings it back, whatever the speed of the machine.
 */
export const apiserverBackedOff: BehaviourFn = (c, _start, m) => (c === "kube-apiserver" && !m.annotations[DEFAULT_SETTINGS.annotationKey] ? "down" : "healthy");

/** A simulated host: its root, ports and kubelet. */
export interface SimulatedHost {
  root: string;
  ports: SimPorts;
  kubelet: KubeletDouble;
}

/** Options of simulatedHost: the sandbox's, and the kubelet double's. */
export interface SimulatedHostOptions extends SandboxOptions {
  behaviour?: BehaviourFn;
  sim?: Partial<SimOptions>;
  frozen?: boolean;
  /** Changes the copied tree before the kubelet starts. */
  prepare?: (root: string) => Promise<void>;
  /**
   * Wait until the kubelet has reached the API server, as on a healthy host (default), or only
   * until its pods were started ("started": a host whose API server or kubelet certificate is broken).
   */
  until?: "sources-ready" | "started";
}

/** Copies a sandbox (ECDSA unless keySpec says otherwise), gives it free ports and runs it. */
export async function kubeletFor(t: TestContext, root: string, o: Omit<SimulatedHostOptions, keyof SandboxOptions> = {}): Promise<KubeletDouble> {
  const kubelet = await startKubeletDouble({ root, sim: { ...TEST_SIM, ...o.sim }, ...(o.behaviour ? { behaviour: o.behaviour } : {}), ...(o.frozen ? { frozen: true } : {}) });
  onCleanup(t, () => kubelet.stop());
  return kubelet;
}

/** A copy of a shared sandbox with free ports, run by the kubelet double until the test ends. */
export async function simulatedHost(t: TestContext, o: SimulatedHostOptions = {}): Promise<SimulatedHost> {
  const { behaviour, sim, frozen, prepare, until, ...sandbox } = o;
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ...sandbox });
  const ports = await assignFreePorts(root);
  await prepare?.(root);
  const kubelet = await kubeletFor(t, root, { ...(behaviour ? { behaviour } : {}), ...(sim ? { sim } : {}), ...(frozen ? { frozen } : {}) });
  if (until !== "started") await untilSourcesReady(kubelet);
  return { root, ports, kubelet };
}

/** Resolves once `kubelet` has reached the API server (its status sync, every 200 ms); throws after `timeoutMs` (default 60 s). */
export async function untilSourcesReady(kubelet: KubeletDouble, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !kubelet.sourcesReady();) {
    if (Date.now() > deadline) throw new Error(`the kubelet double did not reach the API server double within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
