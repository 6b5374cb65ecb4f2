// The worker job: what `run` does on a worker node (role.ts). Its steps, beside the control plane's:
// take the lock and finish an interrupted run (state.ts) → read the CA the node trusts (the pin) →
// fetch the cluster's CA certificate by the pin (src/kube/cluster-info.ts) → if it is newer than
// the node's, write pki/ca.crt and kubelet.conf's CA data all or nothing, with a backup
// (src/renewal/apply.ts) → restart the kubelet → prove it back (prove.ts) → else roll back, never
// onto an expired CA certificate. It reports the kubelet's client certificate (kubelet-client.ts),
// and hands what it found and did to `report` (the Node annotations), whatever happened.
import { join, relative } from "node:path";
import type { Settings } from "../config/settings.js";
import type { Logger } from "../log/logger.js";
import { lockAndRecover, stateDirOf } from "../renewal/renew.js";
import { applyWrites } from "../renewal/apply.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { readPinnedCa, type PinnedCa } from "../kube/pin.js";
import { fetchClusterCa, pinOf } from "../kube/cluster-info.js";
import { nodeRuntimeOf, type NodeRuntime } from "../kubelet/runtime.js";
import { APP } from "../deploy/manifests.js";
import { RenewCertsError } from "../errors.js";
import { exitCodeFor } from "../cli/exit-codes.js";
import type { AtomicWriteOptions } from "../util/atomic.js";
import { isStopped, throwIfStopped } from "../util/stop.js";
import { DAY_MS } from "../policy/age.js";
import { asWorkerRecord, describeWorker, type WorkerRecord } from "./state.js";
import { readRecord } from "../renewal/intent.js";
import { planWorker } from "./plan.js";
import { kubeletClientReport, type KubeletClientReport } from "./kubelet-client.js";
import { bringKubeletOnto, resumeWorker, type WorkerContext } from "./restart.js";

/** Options of one worker run. */
export interface WorkerJobOptions {
  root: string;
  /** The settings, with nodeName set. */
  settings: Settings;
  dryRun?: boolean;
  log: Logger;
  now?: () => Date;
  /** The kubelet (default: the host's systemd for "/", the kubelet double of a sandbox). */
  runtime?: NodeRuntime;
  /** Probe interval of the proof, ms (default 1000). */
  intervalMs?: number;
  onStep?: AtomicWriteOptions["onStep"];
  signal?: AbortSignal;
  /** renew-certs' namespace, whose kube-root-ca.crt is the fallback (default: the DaemonSet's, "renew-certs"). */
  namespace?: string;
  /** Told what the run found and did, at its end, success or not (the Node annotations): a failure here is only logged. */
  report?: (r: WorkerReport) => Promise<void>;
}

/** What a worker run found and did. */
export type WorkerOutcome =
  | { kind: "current" | "updated" | "resumed"; fingerprint256: string; notAfter: string; source: string; kubeletClient: KubeletClientReport | undefined }
  | { kind: "kept" | "unavailable"; why: string; fingerprint256: string; notAfter: string; kubeletClient: KubeletClientReport | undefined }
  | { kind: "dry-run"; would: string[]; fingerprint256: string; notAfter: string; kubeletClient: KubeletClientReport | undefined };

/** What a worker run hands to its reporter. */
export interface WorkerReport {
  at: Date;
  exitCode: number;
  /** What it did ("CA certificate updated from kube-public/cluster-info"), or the error's message. */
  summary: string;
  /** The CA certificate the node trusts after the run (SHA-256 fingerprint, NotAfter), when it could be read. */
  ca?: { fingerprint256: string; notAfter: string };
  kubeletClient?: KubeletClientReport;
}

/** The kubelet.conf server as an endpoint. */
function endpointOf(pinned: PinnedCa): { host: string; port: number } {
  const server = pinned.kubeletConf.server;
  const url = server ? new URL(server) : undefined;
  if (!url || url.protocol !== "https:") {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${pinned.kubeletConf.file}: its cluster's server (${server ?? "none"}) is not an https:// URL: restore it from a backup`, { file: pinned.kubeletConf.file });
  }
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 443) };
}

/** Runs the worker job once (see the top of this file). */
export async function runWorkerJob(o: WorkerJobOptions): Promise<WorkerOutcome> {
  const s = o.settings;
  const now = o.now ?? (() => new Date());
  const stateDir = stateDirOf(o.root);
  let outcome: WorkerOutcome | undefined;
  let failure: unknown;
  const held = o.dryRun ? undefined : await lockAndRecover(o.root, o.log, s.lockTimeoutSeconds * 1000, o.signal);
  try {
    let pinned = await readPinnedCa(o.root);
    o.log.info(`this node trusts the CA ${pinned.hash} (${pinned.held.x509.subject.replace(/\n/g, ", ")}), valid to ${new Date(pinned.held.x509.validTo).toISOString()}`);
    const endpoint = endpointOf(pinned);
    const ctx: WorkerContext = {
      root: o.root, stateDir, log: o.log, now, runtime: o.runtime ?? nodeRuntimeOf(o.root), healthTimeoutMs: s.healthTimeoutSeconds * 1000,
      lease: { endpoint, pin: pinOf(pinned), kubeletConf: pinned.kubeletConf.file, root: o.root, nodeName: s.nodeName }, backupDir: join(o.root, s.backupDir),
      ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}), ...(o.onStep ? { onStep: o.onStep } : {}), ...(o.signal ? { signal: o.signal } : {}),
    };
    const oldNotAfters = [new Date(pinned.held.x509.validTo)];
    const clientReport = async (): Promise<KubeletClientReport | undefined> => {
      const r = await kubeletClientReport({ root: o.root, kubeletConf: pinned.kubeletConf, nodeName: s.nodeName, oldCaNotAfter: oldNotAfters, now: now() });
      if (r?.advice) o.log.warn(r.advice, { file: r.file });
      else if (r) o.log.info(`the kubelet's client certificate is valid to ${r.notAfter}${r.cappedAt ? ", capped at the NotAfter of the CA certificate this node held (the signer's cap)" : ""}`, { file: r.file });
      return r;
    };
    const unfinished = held && "record" in held.recovery ? asWorkerRecord(held.recovery.record) : undefined;
    if (unfinished) {
      oldNotAfters.push(new Date(unfinished.previous.notAfter));
      await resumeWorker(ctx, unfinished);
      pinned = await readPinnedCa(o.root);
      outcome = { kind: "resumed", fingerprint256: unfinished.ca.fingerprint256, notAfter: unfinished.ca.notAfter, source: unfinished.source, kubeletClient: await clientReport() };
      return outcome;
    }
    const creds = await credentialsFromKubeconfig(pinned.kubeletConf.file, o.root).catch(() => undefined);
    const fetched = await fetchClusterCa({ endpoint, pinned, namespace: o.namespace ?? APP, ...(creds ? { client: { certPem: creds.certPem, keyPem: creds.keyPem } } : {}) });
    const mine = { fingerprint256: pinned.held.x509.fingerprint256, notAfter: new Date(pinned.held.x509.validTo).toISOString() };
    if (fetched.kind === "unavailable") {
      const renewBefore = s.caRenewBeforeDays;
      const due = Date.parse(mine.notAfter) - now().getTime() <= renewBefore * DAY_MS;
      const fix = fetched.absent
        ? "kube-public/cluster-info does not exist (a cluster made without kubeadm's bootstrap-token phase): on a control-plane host, run " +
          "\"kubeadm init phase bootstrap-token\" (it creates cluster-info and lets anonymous clients read it), or run the renew-certs DaemonSet (renew-certs deploy) on this node"
        : "this node could not read the cluster's CA certificate";
      const why = `${fix} (${fetched.tried.join("; ")})`;
      if (due) throw new RenewCertsError("NO_CLUSTER_CA", `${why}; this node's CA certificate expires at ${mine.notAfter}, within caRenewBeforeDays (${renewBefore}): nothing was changed`);
      o.log.warn(`${why}; this node's CA certificate is valid to ${mine.notAfter}, not within caRenewBeforeDays (${renewBefore}): nothing to do yet`);
      outcome = { kind: "unavailable", why, ...mine, kubeletClient: await clientReport() };
      return outcome;
    }
    for (const t of fetched.tried) o.log.info(`not from there: ${t}`);
    const plan = await planWorker(o.root, pinned, fetched.cert, now());
    if (plan.kind === "current") {
      o.log.info(`this node holds the cluster's CA certificate (from ${fetched.source}, serial ${plan.cert.x509.serialNumber}): nothing to do`);
      outcome = { kind: "current", ...mine, source: fetched.source, kubeletClient: await clientReport() };
      return outcome;
    }
    if (plan.kind === "kept") {
      o.log.warn(plan.why);
      outcome = { kind: "kept", why: plan.why, ...mine, kubeletClient: await clientReport() };
      return outcome;
    }
    const newId = { fingerprint256: plan.cert.x509.fingerprint256, serial: plan.cert.x509.serialNumber, notAfter: new Date(plan.cert.x509.validTo).toISOString() };
    const files = plan.writes.map((w) => relative(o.root, w.path));
    o.log.info(`the cluster's CA certificate (from ${fetched.source}, serial ${newId.serial}, valid to ${newId.notAfter}) has the key this node trusts: taking it`, { files: files.join(",") });
    if (o.dryRun) {
      outcome = { kind: "dry-run", would: files, ...mine, kubeletClient: await clientReport() };
      return outcome;
    }
    // Nothing is written unless the kubelet can be restarted and proven: it reads kubelet.conf at its start only.
    const health = await ctx.runtime.kubeletHealth();
    if (health.state !== "running") {
      throw new RenewCertsError("KUBELET_DOWN", `the kubelet does not run here (${health.detail}): nothing was written; start it (systemctl start kubelet) and run again`);
    }
    throwIfStopped(o.signal);
    const start = now();
    const previous = { fingerprint256: plan.previous.x509.fingerprint256, serial: plan.previous.x509.serialNumber, notAfter: new Date(plan.previous.x509.validTo).toISOString() };
    let record: WorkerRecord | undefined;
    await applyWrites({
      root: o.root, stateDir, backupDir: ctx.backupDir, backupsKept: s.backupsKept, writes: plan.writes, start, reason: `worker: CA certificate from ${fetched.source}`, log: o.log,
      ...(o.onStep ? { onStep: o.onStep } : {}),
      then: (backup) => (record = { job: "worker", phase: "written", started: start.toISOString(), backup, source: fetched.source, ca: newId, previous, files }),
    });
    o.onStep?.("renamed", "state:written");
    await bringKubeletOnto(ctx, record!);
    outcome = { kind: "updated", fingerprint256: newId.fingerprint256, notAfter: newId.notAfter, source: fetched.source, kubeletClient: await clientReport() };
    return outcome;
  } catch (caught) {
    failure = caught;
    if (!isStopped(caught)) throw caught;
    // Stopped at a wait or between two steps: say where (every state is written before its effect) and what the next run does.
    const record = asWorkerRecord(await readRecord(stateDir).catch(() => undefined));
    const where = record ? `while ${describeWorker(record).state}: the next run will ${describeWorker(record).next}` : "before anything was written: the next run starts afresh";
    throw new RenewCertsError("TERMINATED", `${caught.message} ${where}`, { cause: caught });
  } finally {
    await held?.lock.release();
    if (o.report && !o.dryRun && !isStopped(failure)) {
      const exitCode = failure === undefined ? 0 : failure instanceof RenewCertsError ? exitCodeFor(failure.code) : 1;
      const summary = failure === undefined ? summaryOf(outcome!) : (failure as Error).message;
      const ca = outcome ? { fingerprint256: outcome.fingerprint256, notAfter: outcome.notAfter } : undefined;
      await o.report({ at: now(), exitCode, summary, ...(ca ? { ca } : {}), ...(outcome?.kubeletClient ? { kubeletClient: outcome.kubeletClient } : {}) })
        .catch((err: unknown) => o.log.warn(`could not report this run: ${(err as Error).message}`));
    }
  }
}

/** One line for people: what a worker run did. */
export function summaryOf(r: WorkerOutcome): string {
  switch (r.kind) {
    case "current": return `worker: this node holds the cluster's CA certificate (from ${r.source}, valid to ${r.notAfter})`;
    case "updated": return `worker: CA certificate updated from ${r.source} (valid to ${r.notAfter}); the kubelet was restarted and is back (healthz, its Lease renewed)`;
    case "resumed": return `worker: finished the interrupted run: CA certificate from ${r.source} (valid to ${r.notAfter}); the kubelet is back`;
    case "kept": return `worker: CA certificate left as it is (${r.why})`;
    case "unavailable": return "worker: the cluster's CA certificate could not be read; this node's is not due yet";
    case "dry-run": return `worker: would write ${r.would.join(", ")} and restart the kubelet; --dry-run: nothing was written`;
  }
}
