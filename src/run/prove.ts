// "prove": after its manifest changed, a component counts as restarted only once a NEW process is
// proven (identity.ts) and that process is healthy; a rollback proves the same, with the previous
// certificates. Health:
// - kube-apiserver: on a fresh connection it serves the expected certificate (the renewed one; the
//   previous one in a rollback) and /livez answers "ok" to admin.conf's client certificate;
// - kube-controller-manager, kube-scheduler: /healthz answers "ok" from the proven process;
// - others (kube-proxy, etcd): the proof itself (a Ready mirror pod, or the process table).
import type { ManifestInfo } from "../manifests/manifest.js";
import { formatEndpoint } from "../manifests/manifest.js";
import { RenewCertsError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { ClientCredentials } from "../kube/credentials.js";
import { sameFingerprint } from "../kube/tls.js";
import { newProcessEvidence, tlsSourceOf, unchangedEvidence, type Evidence, type IdentityProbes } from "./identity.js";
import type { HealthResult } from "./wait.js";
import type { ComponentStep, Identity } from "./state.js";
import { progressReporter, realClock, waitHealthy, type Clock } from "./wait.js";

/** The probes of the proofs and health checks; tests inject their own. */
export interface Probes extends IdentityProbes {
  /** An HTTPS GET on a fresh connection (see kube/tls.ts httpsGet). */
  get(o: { endpoint: { host: string; port: number }; path: string; verify: boolean; credentials?: ClientCredentials }): Promise<{ status: number; body: string; fingerprint: string | undefined }>;
}

/** What the health of a component is judged against. */
export interface Expected {
  /** The certificate kube-apiserver must serve (SHA-256). */
  apiserverFingerprint: string;
  /** admin.conf's credentials, for /livez. */
  credentials: ClientCredentials;
  /** "renewed" or "previous": which certificates, for the log. */
  certificates: "renewed" | "previous";
}

/** Options of proveRestart. */
export interface ProveOptions {
  step: ComponentStep;
  manifest: ManifestInfo;
  probes: Probes;
  expected: Expected;
  nodeName: string;
  annotationKey: string;
  timeoutMs: number;
  intervalMs?: number;
  clock?: Clock;
  /** Aborted (SIGTERM): the wait ends at once with TERMINATED. */
  signal?: AbortSignal;
  log: Logger;
  progress?: { isTTY: boolean; write: (text: string) => void };
  /** Called after each probe while no new process is proven (the fallbacks of a stuck kubelet hook in here). */
  onUnproven?: (elapsedMs: number, evidence: Evidence) => Promise<void>;
  /** Why a proven new process does not count after all (the kubelet says it kept the old pod), or undefined. */
  veto?: (evidence: Evidence) => Promise<string | undefined>;
  /**
   * A rollback: who ran before the renewal. While that very process still runs (the kubelet never
   * replaced it) and is healthy on the restored files, it counts: no restart is waited for.
   */
  unchanged?: Identity;
}

/** A restarted component that was not proven new and healthy in time. */
export class ComponentUnhealthyError extends RenewCertsError {
  constructor(readonly component: string, message: string, file: string) {
    super("UNHEALTHY", message, { file });
  }
}

function why(e: unknown): string {
  return e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
}

/** The health of a component whose new process is proven (see the top of this file). */
export async function healthOf(m: ManifestInfo, evidence: Evidence, probes: Probes, expected: Expected): Promise<HealthResult> {
  if (m.component === "kube-apiserver") {
    const where = formatEndpoint(m.advertiseEndpoint);
    try {
      const r = await probes.get({ endpoint: m.advertiseEndpoint, path: "/livez", verify: true, credentials: expected.credentials });
      if (!sameFingerprint(r.fingerprint, expected.apiserverFingerprint)) return { healthy: false, detail: `${where} serves another certificate than the ${expected.certificates} one (sha256 ${r.fingerprint?.slice(0, 23) ?? "none"}…)` };
      if (r.status !== 200 || r.body.trim() !== "ok") return { healthy: false, detail: `${where}/livez answered ${r.status} ${JSON.stringify(r.body.trim().slice(0, 200))}` };
      return { healthy: true, detail: `${where} serves the ${expected.certificates} certificate and /livez is ok` };
    } catch (e) {
      return { healthy: false, detail: `${where}/livez: ${why(e)}` };
    }
  }
  if (m.secureEndpoint) {
    const where = `${formatEndpoint(m.secureEndpoint)}/healthz`;
    try {
      const r = await probes.get({ endpoint: m.secureEndpoint, path: "/healthz", verify: false });
      const proven = evidence.identity?.tls?.fingerprint;
      if (proven && !sameFingerprint(r.fingerprint, proven)) return { healthy: false, detail: `${where} answered from another process than the proven one` };
      if (r.status !== 200 || r.body.trim() !== "ok") return { healthy: false, detail: `${where} answered ${r.status} ${JSON.stringify(r.body.trim().slice(0, 200))}` };
      return { healthy: true, detail: `${where} is ok` };
    } catch (e) {
      return { healthy: false, detail: `${where}: ${why(e)}` };
    }
  }
  return { healthy: evidence.proven, detail: evidence.detail };
}

/**
 * Waits until `step`'s component is proven a new process and healthy, probing every intervalMs;
 * returns the evidence, or throws ComponentUnhealthyError naming what is missing.
 */
export async function proveRestart(o: ProveOptions): Promise<{ evidence: Evidence; health: HealthResult; elapsedMs: number }> {
  const { step, manifest: m } = o;
  let evidence: Evidence | undefined;
  let lastEvidence: Evidence = { proven: false, by: "", detail: "not probed yet" };
  let health: HealthResult | undefined;
  const clock = o.clock ?? realClock;
  const started = clock.now();
  const check = async (): Promise<HealthResult> => {
    if (!evidence) {
      // Never replaced: the process from before the renewal, on the restored files, is the rollback's goal already.
      const kept = o.unchanged ? await unchangedEvidence(o.unchanged, m, o.probes) : undefined;
      const keptHealth = kept ? await healthOf(m, kept, o.probes, o.expected) : undefined;
      if (kept && keptHealth?.healthy) {
        evidence = kept;
        health = keptHealth;
        o.log.info(`${step.component}: ${kept.detail}`);
        return keptHealth;
      }
      lastEvidence = await newProcessEvidence(step, m, { probes: o.probes, nodeName: o.nodeName, annotationKey: o.annotationKey });
      const vetoed = lastEvidence.proven ? await o.veto?.(lastEvidence) : undefined;
      if (vetoed) lastEvidence = { proven: false, by: "", detail: vetoed };
      if (kept && !lastEvidence.proven) lastEvidence = { ...lastEvidence, detail: `${kept.detail.replace(/: it runs.*$/, "")}, but not healthy on the restored files: ${keptHealth?.detail ?? "?"}` };
      if (lastEvidence.proven) {
        evidence = lastEvidence;
        o.log.info(`${step.component}: new process proven by its ${evidence.by}`, { detail: evidence.detail });
      } else {
        await o.onUnproven?.(clock.now() - started, lastEvidence);
        return { healthy: false, detail: lastEvidence.detail };
      }
    }
    health = await healthOf(m, evidence, o.probes, o.expected);
    return health;
  };
  const reporter = progressReporter({ component: step.component, isTTY: o.progress?.isTTY ?? false, write: o.progress?.write ?? (() => undefined), log: o.log });
  const r = await waitHealthy(check, { timeoutMs: o.timeoutMs, intervalMs: o.intervalMs, clock, onProgress: reporter.onProgress, ...(o.signal ? { signal: o.signal } : {}) })
    .finally(reporter.done);
  const secs = Math.round(o.timeoutMs / 1000);
  if (!evidence) {
    const src = tlsSourceOf(m);
    throw new ComponentUnhealthyError(step.component, `${step.component}: ${lastEvidence.detail || "no new process"} ${secs} s after its manifest changed${src ? "" : " (no source shows its process)"}`, step.file);
  }
  if (!r.healthy) {
    throw new ComponentUnhealthyError(step.component, `${step.component}: a new process runs (proven by its ${evidence.by}), but it is not healthy ${secs} s after its manifest changed: ${health?.detail ?? r.detail}`, step.file);
  }
  o.log.info(`${step.component}: healthy on the ${o.expected.certificates} certificates`, { detail: r.detail, elapsed: `${(r.elapsedMs / 1000).toFixed(1)}s` });
  return { evidence, health: health!, elapsedMs: r.elapsedMs };
}
