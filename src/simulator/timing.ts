// How long things take on a real control plane, and how the simulator scales them. Every duration
// the test doubles use is a real one (measured on kubeadm v1.28.7 with containerd) times one
// factor, so that a test or the demo runs in seconds while every step keeps its real order and
// proportions: a double that is merely faster still hides no bug that a real host would show.

/** Durations on a real control plane, in milliseconds. */
export const REAL_MS = {
  /** kube-apiserver: from process start until it serves (10–15 s measured). */
  apiserverStart: 12_000,
  /** kube-controller-manager, kube-scheduler: from process start until /healthz answers (14–15 s). */
  controllerStart: 14_000,
  /** The pod's terminationGracePeriodSeconds when the manifest sets none (Kubernetes' default). */
  defaultGrace: 30_000,
  /** The kubelet's file source poll (it also reacts to inotify at once). */
  kubeletPoll: 20_000,
  /** The kubelet's status sync: how late a mirror pod shows what runs. */
  statusSync: 10_000,
  /** The kubelet's node status / API contact period. */
  nodeStatus: 10_000,
  /** The first crash-loop back-off (doubling up to crashBackoffMax). */
  crashBackoff: 10_000,
  crashBackoffMax: 300_000,
  /** kube-apiserver retrying etcd before it exits when etcd refuses it. */
  etcdRetry: 20_000,
  /**
   * kube-apiserver merging its client CA files into extension-apiserver-authentication: the real
   * one does it on a file change and every minute; measured, both old and new CA were there within
   * 5 s of the change, so the double merges every 5 s.
   */
  authenticationSync: 5_000,
  /**
   * kube-controller-manager's root CA publisher: the real one watches namespaces and ConfigMaps and
   * acts within a second or two; the double looks every 5 s.
   */
  rootCaResync: 5_000,
} as const;

/** The simulator's knobs; every component process receives them in SIM_OPTIONS. */
export interface SimOptions {
  /** Multiplies every real duration (1: real time; the tests use about 0.01). Default 0.02. */
  timeScale: number;
  /** Validity of kube-apiserver's loopback certificate, in days (365; 14 months in recent versions). */
  loopbackValidityDays: number;
  /**
   * kube-apiserver re-reads its serving certificate when it changes, as v1.23 and later do (true);
   * false plays a version that, whatever its tag says, does not: a run must then restart it.
   * "newer-only" plays one that takes a renewed certificate but never the previous one back (a
   * serving certificate with an earlier NotBefore than the one it serves is ignored): a rollback
   * must then restart it onto the previous files.
   */
  apiserverReloads: boolean | "newer-only";
  /**
   * kube-public/cluster-info is readable by anonymous clients, as after kubeadm's bootstrap-token
   * phase (true, the default); false plays a hardened cluster where that RBAC was removed (403).
   */
  anonymousClusterInfo?: boolean;
}

/** The defaults: fifty times faster than a real host. */
export const DEFAULT_SIM_OPTIONS: Readonly<SimOptions> = Object.freeze({ timeScale: 0.02, loopbackValidityDays: 365, apiserverReloads: true });

/** A real duration, scaled (never below 1 ms). */
export function scaled(o: Pick<SimOptions, "timeScale">, realMs: number): number {
  return Math.max(1, Math.round(realMs * o.timeScale));
}

/** The options a component process was started with. */
export function optionsFromEnv(env: Record<string, string | undefined>): SimOptions {
  const raw = env["SIM_OPTIONS"];
  return raw ? { ...DEFAULT_SIM_OPTIONS, ...(JSON.parse(raw) as Partial<SimOptions>) } : { ...DEFAULT_SIM_OPTIONS };
}
