/*
 * The scheduled job's persisted state machine. Each state is written (atomically, to the job
 * record <state>/job.json) BEFORE its effect, so that the next run resumes from whatever state a
 * crash left and finishes it (src/run/resume.ts):
 *
 *   renewing ──► renewed ──► restarting i ──► proven i ──► … ──► verified ──► (record removed)
 *                   (minimal mode: reloading i ──► proven i, or, not reloaded in time, ──► restarting i)
 *   (renewal)      │             │ a component not proven or not healthy in time
 *                  │             ▼
 *                  │        rolling-back ──► restored ──► restarting-previous j ──► … ──► rolled-back
 *                  │             │ not proven, and the previous certificates have expired (or expire
 *                  │             │ within the safety margin): no rollback, "stillDown" recorded (exit 15);
 *                  │             │ the record stays in its phase and the next run tries the restart again
 *                  └─ restart lease not obtained (exit 9): the record stays; the next run restarts
 *
 * "renewing" belongs to the renewal (src/renewal/intent.ts), which replaces it by "renewed" in one
 * rename once every file holds its new bytes. A run that finds "rolled-back" reports the rollback
 * (exit 7, or 8 when even the previous files did not come back healthy): never a success.
 */
import { readRecord, writeRecord, clearRecord, type Intent, type JobRecord } from "../renewal/intent.js";
import type { TlsIdentity } from "../kube/tls.js";
import type { CaName } from "../inventory/catalog.js";
import type { AtomicWriteOptions } from "../util/atomic.js";
import { asWorkerRecord, describeWorker } from "../worker/state.js";

/** The phases of a run after its renewal. */
export type RunPhase = "renewed" | "reloading" | "restarting" | "proven" | "verified" | "rolling-back" | "restored" | "restarting-previous" | "rolled-back";

/** Who a component's process is: what identifies it from outside. */
export interface Identity {
  /** The certificate it made in memory at its start: kube-apiserver's loopback one, the others' serving one. */
  tls?: TlsIdentity;
  /** Its pids, where the process table shows them. */
  pids?: number[];
}

/** A component the run brings onto the renewed (or, rolling back, the previous) files, and how. */
export interface StepRef {
  component: string;
  /** The manifest, relative to --root. */
  file: string;
  /** "reload": left running, its reload proven (restartMode minimal, reload.ts); absent: restarted. */
  action?: "reload";
  /** Why this action (minimal mode), for the log and status. */
  why?: string;
  /** It was to reload, did not in time, and is restarted instead (by the restart annotation). */
  fellBack?: true;
}

/** One component restarted by the run (or by its rollback), or, kind "reload", left running and proven to have reloaded. */
export interface ComponentStep {
  /** "reload": no manifest edit (stamp and annotation are ""); proven by what it serves, not by a new process. */
  kind?: "reload";
  component: string;
  /** The manifest, relative to --root. */
  file: string;
  /** The edit: the annotation value written (a rollback puts the backed-up manifest back). */
  stamp: string;
  /** What the annotation key holds in the manifest afterwards ("" for none): what its mirror pod must show. */
  annotation: string;
  /** When the manifest changed, epoch ms (taken just before the write). */
  writtenAt: number;
  /** Who ran before the change. */
  before: Identity;
  /** Once a new process is proven and healthy: how, and who it is. */
  proven?: { by: string; detail: string; at: number; identity: Identity };
}

/** A rollback in progress. */
export interface RollbackRecord {
  /** Why: the failure, for the log, the Event and the exit message. */
  reason: string;
  /** The component that did not come back. */
  component: string;
  /** The components to restart (or, action "reload", to prove reloaded) onto the previous files, in order. */
  restart: StepRef[];
  steps: ComponentStep[];
  /** How it ended, once it has: "healthy", or why not. */
  outcome?: string;
  /** The previous files could not be put back (the outcome says why). */
  restoreFailed?: boolean;
}

/** A component still down on the renewed certificates, kept because the previous ones cannot work. */
export interface StillDownRecord {
  at: string;
  component: string;
  /** Why it counts as down (the proof's last word). */
  reason: string;
  /** What was tried ("restarted the kubelet: …", "stopped container …"). */
  tried: string[];
}

/** A CA the run renewed with the leaves (src/ca/run-step.ts), and its cluster steps after the restarts (src/run/ca-cluster.ts). */
export interface RunCa {
  ca: CaName;
  /** The new certificate (SHA-256, as node:crypto prints it). */
  fingerprint256: string;
  /** The replaced certificate's NotAfter (ISO): never rolled back onto once it is near. */
  previousNotAfter: string;
  /** Everything that trusts the CA must hold the new certificate by then (ca-<name>.json). */
  deadline: string;
  /** Where the adopted certificate was published; absent: re-signed on this host. */
  adoptedFrom?: string;
  /** Once published in the cluster (ISO), or why not. */
  published?: string;
  /** Once the cluster objects were checked (ISO). */
  checked?: string;
}

/** A run's record from its renewal on. */
export interface RunRecord {
  job: "run";
  phase: RunPhase;
  /** The renewal's start (ISO) and backup. */
  started: string;
  backup: string;
  /** The certificates renewed. */
  renewed: string[];
  /** kube-apiserver's serving certificate after and before the renewal (SHA-256). */
  apiserver: { renewed: string; previous: string | undefined };
  /** The manifests to restart (or, action "reload", to prove reloaded), in order, relative to --root. */
  restart: StepRef[];
  /** The restarts begun, in order; the last may be unproven. */
  steps: ComponentStep[];
  rollback?: RollbackRecord;
  /** The earliest NotAfter (ISO) of the certificates the renewal replaced: a rollback to them is refused when they cannot work. */
  previousNotAfter?: string;
  /** A run that ended with a component still down on the renewed certificates (exit 15): what it tried. */
  stillDown?: StillDownRecord;
  /** The kubelet's own client certificate, when the run re-issued it (src/run/kubelet-client.ts). */
  kubeletClient?: { reissued: string; kubeletRestarted: boolean };
  /** The CAs renewed with the leaves, before them. */
  cas?: RunCa[];
  /** When the kubelet was restarted to read kubelet.conf's new CA data (ISO). */
  kubeletRestartedForCa?: string;
  /** Written by an older version (pending-restart.json): the restart list is the configured one. */
  legacy?: boolean;
}

/** The record of an unfinished run, if the job record is one. */
export function asRunRecord(r: JobRecord | undefined): RunRecord | undefined {
  return r && r.job === "run" && r.phase !== "renewing" ? (r as RunRecord) : undefined;
}

/** Reads the job record of `stateDir`. */
export async function readRunRecord(stateDir: string): Promise<RunRecord | undefined> {
  return asRunRecord(await readRecord(stateDir));
}

/** Persists a transition: the record in its new phase, before the phase's effect. */
export async function enter(stateDir: string, r: RunRecord, phase: RunPhase, onStep?: AtomicWriteOptions["onStep"]): Promise<RunRecord> {
  const next = { ...r, phase };
  await writeRecord(stateDir, next);
  onStep?.("renamed", `state:${phase}`);
  return next;
}

/** The run is over: the record goes. */
export async function finish(stateDir: string): Promise<void> {
  await clearRecord(stateDir);
}

/** For people (status, doctor): where an interrupted run stopped, and what the next run does. */
export function describeRun(r: RunRecord): { state: string; next: string } {
  const last = r.steps[r.steps.length - 1];
  const rb = r.rollback;
  const lastRb = rb?.steps[rb.steps.length - 1];
  if (r.stillDown && (r.phase === "restarting" || r.phase === "proven")) {
    return { state: `${r.stillDown.component} was still down on the renewed certificates at ${r.stillDown.at} (the previous ones cannot work, so they were kept)`, next: `restart ${r.stillDown.component} again onto the renewed certificates (restarting the kubelet if it is stuck), then the rest` };
  }
  switch (r.phase) {
    case "renewed":
      return { state: `${r.cas?.length ? `CA ${r.cas.map((c) => c.ca).join(", ")} and ` : ""}certificates renewed at ${r.started}, no component restarted yet`, next: "restart the control plane onto them and prove it" };
    case "reloading":
      return { state: `waiting for ${last?.component ?? "?"} to reload the renewed certificates (not restarted)`, next: `prove ${last?.component ?? "it"} serves them (or restart it), then restart the rest` };
    case "restarting":
      return { state: `restarting ${last?.component ?? "?"} (its manifest changed at ${new Date(last?.writtenAt ?? 0).toISOString()})`, next: `prove ${last?.component ?? "it"} is a new, healthy process, then restart the rest` };
    case "proven":
      return { state: `${r.steps.map((s) => (s.kind === "reload" ? `${s.component} (reloaded, not restarted)` : s.component)).join(", ")} ${r.steps.some((s) => s.kind === "reload") ? "brought onto the renewed files" : "restarted"} and proven`, next: r.steps.length < r.restart.length ? `restart ${r.restart[r.steps.length]!.component} and the rest` : "check every component once more" };
    case "verified":
      return { state: r.steps.some((s) => s.kind === "reload") ? "every component restarted or reloaded, and proven" : "every component restarted and proven", next: "refresh /root/.kube/config and finish" };
    case "rolling-back":
      return { state: `rolling back (${rb?.reason ?? "?"})`, next: `restore the previous files from ${r.backup} and restart ${rb?.restart.map((x) => x.component).join(", ") ?? "the components"} onto them` };
    case "restored":
      return { state: `previous files restored from ${r.backup}`, next: `restart ${rb?.restart.map((x) => x.component).join(", ") ?? "the components"} onto them` };
    case "restarting-previous":
      return { state: lastRb?.kind === "reload" ? (lastRb.proven ? `${lastRb.component} proven to serve the previous files (not restarted)` : `waiting for ${lastRb.component} to reload the previous files`) : `restarting ${lastRb?.component ?? "?"} onto the previous files`, next: "prove it, restart the rest, and report the rollback (exit 7)" };
    case "rolled-back":
      return { state: `rolled back (${rb?.outcome === "healthy" ? "healthy on the previous certificates" : rb?.outcome ?? "?"})`, next: "report the rollback (exit 7 or 8) and clear the record" };
  }
}

/** describeRun for any job record, a renewal killed half-way included. */
export function describeJob(r: JobRecord): { state: string; next: string } | undefined {
  const run = asRunRecord(r);
  if (run) return describeRun(run);
  const worker = asWorkerRecord(r);
  if (worker) return describeWorker(worker);
  if (r.phase !== "renewing") return undefined;
  const intent = r as Intent;
  return {
    state: `renewing certificates (since ${intent.started}; backup ${intent.backup})`,
    next: `keep the renewal if every file already holds its new bytes${intent.job === "run" ? " and restart the control plane onto them" : ""}, else put every file back from the backup`,
  };
}
