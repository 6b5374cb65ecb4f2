/*
 * The worker job's persisted state machine, in the same job record as a control-plane run's
 * (<state>/job.json, written atomically BEFORE each effect; the next run resumes from whatever a
 * crash left, src/worker/job.ts):
 *
 *   renewing ──► written ──► restarting ──(kubelet healthy, its Lease renewed after the restart)──► (record removed)
 *   (the CA      │              │ not proven in time
 *    files)      │              ▼
 *                │         rolling-back ──► restored ──► restarting-previous ──► rolled-back ──► (exit 7 or 8; record removed)
 *                │              │ the previous CA certificate has expired: no rollback; the record stays
 *                │              ▼ in "restarting" with stillDown (exit 15) and the next run restarts the kubelet again
 *
 * "renewing" is the renewal's intent (src/renewal/intent.ts): the CA files are written all or
 * nothing, with their backup, and the intent becomes "written" in one rename.
 */
import { writeRecord, clearRecord, type JobRecord } from "../renewal/intent.js";
import type { AtomicWriteOptions } from "../util/atomic.js";

/** The phases of a worker run after its writes. */
export type WorkerPhase = "written" | "restarting" | "rolling-back" | "restored" | "restarting-previous" | "rolled-back";

/** A CA certificate, as the record names it. */
export interface CaId {
  fingerprint256: string;
  serial: string;
  notAfter: string;
}

/** A worker run's record from its writes on. */
export interface WorkerRecord {
  job: "worker";
  phase: WorkerPhase;
  /** When the run started (ISO), and its backup. */
  started: string;
  backup: string;
  /** Where the new CA certificate came from ("kube-public/cluster-info"). */
  source: string;
  /** The certificate written, and the one it replaced. */
  ca: CaId;
  previous: CaId;
  /** Files written, relative to --root. */
  files: string[];
  /** When the kubelet was last asked to restart (epoch ms, taken before the restart): its Lease must be renewed after it. */
  restartedAt?: number;
  /** Why the rollback began. */
  reason?: string;
  /** How the rollback ended: "healthy", or why not. */
  outcome?: string;
  /** The kubelet did not come back and the previous certificate has expired: kept, retried by the next run. */
  stillDown?: { at: string; reason: string };
}

/** The worker record of a job record, if it is one. */
export function asWorkerRecord(r: JobRecord | undefined): WorkerRecord | undefined {
  return r && r.job === "worker" && r.phase !== "renewing" ? (r as WorkerRecord) : undefined;
}

/** Persists a transition: the record in its new phase, before the phase's effect. */
export async function enterWorker(stateDir: string, r: WorkerRecord, phase: WorkerPhase, changes: Partial<WorkerRecord> = {}, onStep?: AtomicWriteOptions["onStep"]): Promise<WorkerRecord> {
  const next: WorkerRecord = { ...r, ...changes, phase };
  await writeRecord(stateDir, next);
  onStep?.("renamed", `state:${phase}`);
  return next;
}

/** The worker run is over: the record goes. */
export async function finishWorker(stateDir: string): Promise<void> {
  await clearRecord(stateDir);
}

/** For people (status, doctor): where an interrupted worker run stopped, and what the next run does. */
export function describeWorker(r: WorkerRecord): { state: string; next: string } {
  switch (r.phase) {
    case "written":
      return { state: `CA certificate from ${r.source} written (${r.files.join(", ")}), kubelet not restarted yet`, next: "restart the kubelet and prove it" };
    case "restarting":
      return r.stillDown
        ? { state: `the kubelet was not back on the new CA certificate at ${r.stillDown.at} (the previous one has expired, so the new one was kept)`, next: "restart the kubelet again and prove it" }
        : { state: "restarting the kubelet onto the new CA certificate", next: "prove the kubelet is back (healthz, its Lease renewed), else roll back" };
    case "rolling-back":
      return { state: `rolling back (${r.reason ?? "?"})`, next: `restore the previous files from ${r.backup} and restart the kubelet` };
    case "restored":
    case "restarting-previous":
      return { state: `previous files restored from ${r.backup}`, next: "restart the kubelet onto them, prove it, and report the rollback (exit 7)" };
    case "rolled-back":
      return { state: `rolled back (${r.outcome === "healthy" ? "the kubelet is back on the previous CA certificate" : r.outcome ?? "?"})`, next: "report the rollback and clear the record" };
  }
}
