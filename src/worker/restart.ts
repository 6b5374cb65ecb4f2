// The worker job's transitions after its writes (the diagram is in state.ts): restart the kubelet
// and prove it back, else roll back (restore the files, restart it onto them, prove it, report), or,
// when the previous CA certificate has expired, keep the new one and leave the restart to the next
// run. Each state is written before its effect; every function here may be entered again by the
// next run after a crash at any point.
import { openBackup, restoreFiles } from "../renewal/backup.js";
import type { Logger } from "../log/logger.js";
import type { NodeRuntime } from "../kubelet/runtime.js";
import type { AtomicWriteOptions } from "../util/atomic.js";
import { throwIfStopped } from "../util/stop.js";
import { RenewCertsError } from "../errors.js";
import { enterWorker, finishWorker, type WorkerRecord } from "./state.js";
import { proveKubeletBack, type KubeletProof, type LeaseSource } from "./prove.js";

/** What the worker's transitions need. */
export interface WorkerContext {
  root: string;
  stateDir: string;
  backupDir: string;
  log: Logger;
  now: () => Date;
  runtime: NodeRuntime;
  /** How long the kubelet has to come back after its restart (healthTimeoutSeconds). */
  healthTimeoutMs: number;
  lease: LeaseSource;
  intervalMs?: number;
  onStep?: AtomicWriteOptions["onStep"];
  signal?: AbortSignal;
}

/** Restarts the kubelet and proves it back on what is on disk now. */
async function restartAndProve(ctx: WorkerContext, r: WorkerRecord): Promise<KubeletProof> {
  throwIfStopped(ctx.signal);
  try {
    await ctx.runtime.restartKubelet();
  } catch (e) {
    return { back: false, detail: `the kubelet could not be restarted: ${(e as Error).message}`, elapsedMs: 0 };
  }
  ctx.log.info("restarted the kubelet: it reads kubelet.conf's CA data at its start only");
  // Renewals from after the restart returned: the old process, stopped by then, cannot have made them.
  const since = Math.max(r.restartedAt ?? 0, Date.now());
  return proveKubeletBack({ runtime: ctx.runtime, lease: ctx.lease, since, timeoutMs: ctx.healthTimeoutMs, ...(ctx.intervalMs ? { intervalMs: ctx.intervalMs } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
}

/** written/restarting → the kubelet restarted onto the new CA certificate and proven; else the rollback. */
export async function bringKubeletOnto(ctx: WorkerContext, record: WorkerRecord): Promise<void> {
  throwIfStopped(ctx.signal);
  const r = await enterWorker(ctx.stateDir, record, "restarting", { restartedAt: Date.now() }, ctx.onStep);
  const proof = await restartAndProve(ctx, r);
  if (proof.back) {
    ctx.log.info(`the kubelet is back on the new CA certificate: ${proof.detail}`, { elapsed: `${Math.round(proof.elapsedMs / 1000)}s` });
    await finishWorker(ctx.stateDir);
    return;
  }
  await rollBack(ctx, r, `the kubelet did not come back within ${Math.round(ctx.healthTimeoutMs / 1000)} s of its restart: ${proof.detail}`);
}

/** restarting → rolling-back → restored → …; or, onto an expired certificate never, STILL_DOWN with the record kept. */
async function rollBack(ctx: WorkerContext, record: WorkerRecord, reason: string): Promise<never> {
  const now = ctx.now();
  if (Date.parse(record.previous.notAfter) <= now.getTime()) {
    await enterWorker(ctx.stateDir, record, "restarting", { stillDown: { at: now.toISOString(), reason } }, ctx.onStep);
    throw new RenewCertsError("STILL_DOWN", `${reason}. The previous CA certificate expired at ${record.previous.notAfter}: a rollback onto it could never work, ` +
      "so the new one stays and the next run restarts the kubelet again; look at the kubelet's log (journalctl -u kubelet)");
  }
  ctx.log.error(`${reason}: rolling back`);
  const r = await enterWorker(ctx.stateDir, record, "rolling-back", { reason }, ctx.onStep);
  return restorePrevious(ctx, r);
}

/** rolling-back → the files restored from the backup → restored → the kubelet restarted onto them. */
async function restorePrevious(ctx: WorkerContext, r: WorkerRecord): Promise<never> {
  const { dir, index } = await openBackup(ctx.backupDir, r.backup);
  const restored = await restoreFiles(ctx.root, dir, index, ctx.onStep);
  ctx.log.warn("restored the previous CA files from the backup", { backup: r.backup, files: restored.length });
  return restartPrevious(ctx, await enterWorker(ctx.stateDir, r, "restored", {}, ctx.onStep));
}

/** restored → restarting-previous → rolled-back, with how the kubelet came back on the previous files. */
async function restartPrevious(ctx: WorkerContext, record: WorkerRecord): Promise<never> {
  const r = await enterWorker(ctx.stateDir, record, "restarting-previous", { restartedAt: Date.now() }, ctx.onStep);
  const proof = await restartAndProve(ctx, r);
  return reportRolledBack(ctx, await enterWorker(ctx.stateDir, r, "rolled-back", { outcome: proof.back ? "healthy" : proof.detail }, ctx.onStep));
}

/** rolled-back → the record goes, the rollback is reported: exit 7, or 8 when the kubelet is not back even on the previous files. */
async function reportRolledBack(ctx: WorkerContext, r: WorkerRecord): Promise<never> {
  await finishWorker(ctx.stateDir);
  if (r.outcome === "healthy") {
    throw new RenewCertsError("ROLLED_BACK", `${r.reason ?? "the kubelet did not come back"}. Rolled back: the previous CA files were restored from ${r.backup} ` +
      `and the kubelet is back on them (valid to ${r.previous.notAfter}); look at the kubelet's log (journalctl -u kubelet) before the next run tries again`);
  }
  throw new RenewCertsError("ROLLBACK_FAILED", `${r.reason ?? "the kubelet did not come back"}. The previous CA files were restored from ${r.backup}, ` +
    `but the kubelet is not back on them either: ${r.outcome ?? "?"}; look at the kubelet's log (journalctl -u kubelet)`);
}

/** Finishes the worker run a crash interrupted, from the state it recorded. */
export async function resumeWorker(ctx: WorkerContext, r: WorkerRecord): Promise<void> {
  ctx.log.warn(`an interrupted worker run (phase ${r.phase}) is finished first`, { backup: r.backup });
  switch (r.phase) {
    case "written":
    case "restarting":
      return bringKubeletOnto(ctx, r);
    case "rolling-back":
      return restorePrevious(ctx, r);
    case "restored":
    case "restarting-previous":
      return restartPrevious(ctx, r);
    case "rolled-back":
      return reportRolledBack(ctx, r);
  }
}
