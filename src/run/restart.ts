import { restartStamp, annotateManifest } from "../manifests/annotate.js";
import { manifestsToRestart, type ManifestRef } from "../manifests/list.js";
import { readManifest, formatEndpoint, type Endpoint, type ManifestInfo } from "../manifests/manifest.js";
import type { Settings } from "../config/settings.js";
import type { Logger } from "../log/logger.js";
import { RenewCertsError } from "../errors.js";
import { apiserverCheck, healthzCheck, servedFingerprint, type ClientCredentials, type HealthCheck } from "./health.js";
import { progressReporter, waitHealthy, type Clock } from "./wait.js";

/** The probes restartControlPlane uses; tests inject their own. */
export interface RestartChecks {
  /** kube-apiserver: serves `expectedFingerprint` and /livez is ok with `credentials`. */
  apiserver(m: ManifestInfo, o: { expectedFingerprint: string; credentials: ClientCredentials }): HealthCheck;
  /** kube-controller-manager / kube-scheduler: /healthz ok from a process other than the one that served `previousFingerprint`. */
  healthz(m: ManifestInfo, o: { previousFingerprint: string | undefined }): HealthCheck;
  /** The fingerprint served at `endpoint` now, undefined when nothing answers (taken before a restart). */
  served(endpoint: Endpoint): Promise<string | undefined>;
}

/** The real probes (health.ts). */
export const DEFAULT_CHECKS: RestartChecks = {
  apiserver: (m, o) => apiserverCheck({ endpoint: m.advertiseEndpoint, ...o }),
  healthz: (m, o) => healthzCheck({ endpoint: m.secureEndpoint!, ...(o.previousFingerprint ? { previousFingerprint: o.previousFingerprint } : {}) }),
  served: (e) => servedFingerprint(e, 2000).catch(() => undefined),
};

/** Options of restartControlPlane. */
export interface RestartOptions {
  /** --root: the directory that holds etc/kubernetes. */
  root: string;
  settings: Pick<Settings, "manifests" | "annotationKey" | "healthTimeoutSeconds">;
  /** The manifests in restart order; default: manifestsToRestart(root, settings.manifests). */
  manifests?: ManifestRef[];
  /** SHA-256 fingerprint of the certificate kube-apiserver must serve after its restart (the renewed one; the old one on rollback). */
  expectedApiserverFingerprint: string;
  /** admin.conf's client credentials and CA (credentialsFromKubeconfig), for /livez. */
  credentials: ClientCredentials;
  log: Logger;
  /** The clock of the annotation's value (epoch ms or Date). Default: now, with microseconds. */
  now?: () => Date | number;
  checks?: Partial<RestartChecks>;
  /** The clock of the waits. Default: the real one. */
  clock?: Clock;
  /** Health timeout per component, in ms. Default: settings.healthTimeoutSeconds × 1000. */
  timeoutMs?: number;
  /** Pause between probes, in ms. Default 1000. */
  intervalMs?: number;
  /** Where the wait is shown: a terminal gets one line with the elapsed time, else a journal line every 15 s. */
  progress?: { isTTY: boolean; write: (text: string) => void };
  /**
   * The edit that makes the kubelet restart a component; returns what was written, for the log.
   * Default: set the restart annotation. A rollback puts the backed-up manifest back instead.
   */
  restartWith?: (ref: ManifestRef) => Promise<string>;
}

/** What happened to one component. */
export interface ComponentResult {
  component: string;
  file: string;
  /** The annotation value written. */
  stamp: string;
  check: "apiserver" | "healthz" | "none";
  healthy: boolean;
  elapsedMs: number;
  attempts: number;
  detail: string;
}

/** A restarted component did not become healthy in time; `results` holds every component handled so far, this one last. */
export class ComponentUnhealthyError extends RenewCertsError {
  /** The component that did not come back. */
  readonly component: string;
  readonly results: ComponentResult[];

  constructor(component: string, message: string, results: ComponentResult[], file: string) {
    super("UNHEALTHY", message, { file });
    this.component = component;
    this.results = results;
  }
}

const preciseNow = (): number => performance.timeOrigin + performance.now();

/**
 * Restarts the control plane one component at a time, kube-apiserver first: sets the restart
 * annotation in its manifest (the kubelet restarts the static pod) and waits until it is healthy
 * (kube-apiserver: serves the expected certificate and /livez is ok; kube-controller-manager and
 * kube-scheduler: /healthz from a new process; others: no check). Stops at the first component
 * that does not come back and throws ComponentUnhealthyError naming it; the caller rolls back.
 */
export async function restartControlPlane(o: RestartOptions): Promise<ComponentResult[]> {
  const checks: RestartChecks = { ...DEFAULT_CHECKS, ...o.checks };
  const timeoutMs = o.timeoutMs ?? o.settings.healthTimeoutSeconds * 1000;
  let refs = o.manifests;
  if (!refs) {
    const list = await manifestsToRestart(o.root, o.settings.manifests);
    for (const m of list.missing) o.log.info(`${m.component}: no static pod manifest, not restarted`, { file: m.file });
    refs = list.present;
  }
  const results: ComponentResult[] = [];
  for (const ref of refs) {
    const m = await readManifest(ref.file);
    const kind: ComponentResult["check"] = ref.component === "kube-apiserver" ? "apiserver" : m.secureEndpoint ? "healthz" : "none";
    // Taken before the restart: a process serving this certificate afterwards is the old one.
    const previousFingerprint = kind === "healthz" ? await checks.served(m.secureEndpoint!) : undefined;
    let stamp: string;
    if (o.restartWith) {
      stamp = await o.restartWith(ref);
      o.log.info(`${ref.component}: restart requested`, { file: ref.file, edit: stamp });
    } else {
      stamp = restartStamp((o.now ?? preciseNow)());
      await annotateManifest(ref.file, o.settings.annotationKey, stamp);
      o.log.info(`${ref.component}: restart requested`, { file: ref.file, annotation: `${o.settings.annotationKey}=${stamp}` });
    }
    if (kind === "none") {
      o.log.info(`${ref.component}: no health check beyond the annotation (the kubelet restarts it)`, { file: ref.file });
      results.push({ component: ref.component, file: ref.file, stamp, check: kind, healthy: true, elapsedMs: 0, attempts: 0, detail: "annotated" });
      continue;
    }
    const check = kind === "apiserver"
      ? checks.apiserver(m, { expectedFingerprint: o.expectedApiserverFingerprint, credentials: o.credentials })
      : checks.healthz(m, { previousFingerprint });
    const where = formatEndpoint(kind === "apiserver" ? m.advertiseEndpoint : m.secureEndpoint!);
    const reporter = progressReporter({ component: ref.component, isTTY: o.progress?.isTTY ?? false, write: o.progress?.write ?? (() => undefined), log: o.log });
    const r = await waitHealthy(check, { timeoutMs, intervalMs: o.intervalMs, clock: o.clock, onProgress: reporter.onProgress });
    reporter.done();
    results.push({ component: ref.component, file: ref.file, stamp, check: kind, healthy: r.healthy, elapsedMs: r.elapsedMs, attempts: r.attempts, detail: r.detail });
    if (!r.healthy) {
      const secs = Number((timeoutMs / 1000).toFixed(1));
      throw new ComponentUnhealthyError(ref.component, `${ref.component} did not become healthy within ${secs} s of its restart (${where}): ${r.detail}`, results, ref.file);
    }
    o.log.info(`${ref.component}: healthy`, { endpoint: where, elapsed: `${(r.elapsedMs / 1000).toFixed(1)}s`, detail: r.detail });
  }
  return results;
}
