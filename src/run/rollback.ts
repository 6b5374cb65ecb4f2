// "roll back": a component did not come back on the renewed certificates. Every renewed file is
// put back from the run's backup, then each component restarted so far is restarted onto the
// previous files by putting its backed-up manifest back (its content changes back, so the kubelet
// replaces the pod), and proven like any restart, against the previous certificates; or, when the
// kubelet never replaced it (stuck, frozen, dead), proven still the process from before the renewal
// and healthy on the restored files: nothing is left for the kubelet to do then. Each state
// is recorded first (state.ts): a rollback killed half-way is finished by the next run, which
// reports it as a rollback, never as a success.
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { LAYOUT } from "../inventory/catalog.js";
import { openBackup, restoreFiles, type BackupIndex } from "../renewal/backup.js";
import { parseManifest } from "../manifests/manifest.js";
import { RenewCertsError } from "../errors.js";
import { adminCredentials, type RunContext } from "./context.js";
import { beginStep, ensureEdited, proveLast, type Edit } from "./restart.js";
import { reloadStep } from "./reload.js";
import { enter, finish, type Identity, type RunRecord, type StepRef } from "./state.js";
import type { Expected } from "./prove.js";
import { kubeletFallbacks } from "./fallback.js";
import { isStopped, throwIfStopped } from "../util/stop.js";
import { UNCHANGED } from "./identity.js";

const MANIFESTS = LAYOUT.manifestsDir + "/";

/** The backed-up bytes of a manifest, as a rollback's edit. */
async function restoreEdit(ctx: RunContext, dir: string, index: BackupIndex, file: string): Promise<Edit> {
  const f = index.files.find((x) => x.path === file);
  if (!f) throw new RenewCertsError("ROLLBACK_FAILED", `the backup ${dir} has no copy of ${file}`, { file: join(ctx.root, file) });
  const bytes = await readFile(join(dir, "files", f.path));
  const annotation = parseManifest(bytes.toString(), join(ctx.root, file)).annotations[ctx.settings.annotationKey] ?? "";
  return { kind: "restore", bytes, mode: f.mode, annotation };
}

/**
 * Who ran `ref`'s component before the renewal, when the manifest goes back to its backed-up bytes:
 * a kubelet that never acted on the renewal's edit (stuck, frozen, dead) still runs that very pod,
 * whose manifest the restored bytes are again, so it has nothing to do; that process, healthy on the
 * restored files, ends the component's rollback (prove.ts) instead of a restart that cannot come.
 */
function neverReplaced(r: RunRecord, ref: StepRef): { unchanged?: Identity } {
  const ran = r.steps.find((s) => s.component === ref.component && s.file === ref.file);
  if (ref.fellBack || !ran || ran.kind === "reload") return {};
  return { unchanged: ran.before };
}

/** Starts a rollback: records it, then carries it out (rollBackFrom). Always throws. */
export async function rollBack(ctx: RunContext, record: RunRecord, failure: { component: string; message: string }): Promise<never> {
  ctx.log.error(`${failure.message}; rolling back to the previous certificates`, { backup: record.backup });
  const r = await enter(ctx.stateDir, { ...record, rollback: { reason: failure.message, component: failure.component, restart: record.steps.map((s) => ({ component: s.component, file: s.file, ...(s.kind === "reload" ? { action: "reload" as const } : {}) })), steps: [] } }, "rolling-back", ctx.onStep);
  return rollBackFrom(ctx, r);
}

/** Carries a recorded rollback on from its phase, to its report (ROLLED_BACK or ROLLBACK_FAILED). */
export async function rollBackFrom(ctx: RunContext, record: RunRecord): Promise<never> {
  let r = record;
  const rb = () => r.rollback!;
  if (r.phase !== "rolled-back") {
    try {
      const { dir, index } = await openBackup(join(ctx.root, ctx.settings.backupDir), r.backup);
      if (r.phase === "rolling-back") {
        await restoreFiles(ctx.root, dir, { ...index, files: index.files.filter((f) => !f.path.startsWith(MANIFESTS)) }, ctx.onStep);
        r = await enter(ctx.stateDir, r, "restored", ctx.onStep);
      }
      const expected: Expected = { apiserverFingerprint: r.apiserver.previous ?? "", credentials: await adminCredentials(ctx.root), certificates: "previous" };
      const fallbacks = kubeletFallbacks(ctx); // a stuck kubelet is as stuck for the rollback
      for (let i = 0; i < rb().restart.length; i++) {
        const ref = rb().restart[i]!;
        const step = rb().steps[i];
        if (step?.proven) continue;
        throwIfStopped(ctx.signal);
        if (ref.action === "reload") {
          // Not restarted by the run: it re-reads the restored files by itself (or is restarted when it does not).
          r = await reloadStep(ctx, r, "rollback", i, expected);
          if (rb().steps[i]!.proven) continue;
        } else {
          const edit: Edit = ref.fellBack ? { kind: "annotate" } : await restoreEdit(ctx, dir, index, ref.file);
          r = step ? await ensureEdited(ctx, r, "rollback", edit) : await beginStep(ctx, r, "rollback", ref, edit);
        }
        r = await proveLast(ctx, r, "rollback", expected, { ...fallbacks.hooksFor(rb().steps[rb().steps.length - 1]!), ...neverReplaced(r, ref) });
      }
      r = await enter(ctx.stateDir, { ...r, rollback: { ...rb(), outcome: "healthy" } }, "rolled-back", ctx.onStep);
    } catch (e) {
      // Stopped (SIGTERM): the rollback is not over; the record stays in its phase for the next run.
      if (isStopped(e)) throw e;
      const why = e instanceof Error ? e.message : String(e);
      r = await enter(ctx.stateDir, { ...r, rollback: { ...rb(), outcome: why, restoreFailed: r.phase === "rolling-back" } }, "rolled-back", ctx.onStep);
    }
  }
  return report(ctx, r);
}

/** The components that were to reload the previous files, did not in time, and were restarted onto them instead (reload.ts fallBack). */
function fellBackOf(rb: NonNullable<RunRecord["rollback"]>): string[] {
  return rb.restart.filter((r) => r.fellBack).map((r) => r.component);
}

/**
 * "kube-scheduler was proven restarted and healthy", with the components that reloaded instead
 * said so, those never replaced by the kubelet said so, and those that did not reload the previous
 * files either said restarted onto them.
 */
function provenOn(rb: NonNullable<RunRecord["rollback"]>, timeoutSeconds: number): string {
  const fellBack = fellBackOf(rb);
  const kept = rb.steps.filter((s) => s.kind !== "reload" && s.proven?.by === UNCHANGED).map((s) => s.component);
  const restarted = rb.steps.filter((s) => s.kind !== "reload" && s.proven?.by !== UNCHANGED && !fellBack.includes(s.component)).map((s) => s.component);
  const reloaded = rb.steps.filter((s) => s.kind === "reload").map((s) => s.component);
  const were = (n: string[]): string => (n.length === 1 ? "was" : "were");
  const itWas = fellBack.length === 1 ? "it was" : "they were";
  const parts = [
    ...(restarted.length > 0 ? [`${restarted.join(", ")} ${were(restarted)} proven restarted and healthy`] : []),
    ...(reloaded.length > 0 ? [`${reloaded.join(", ")} (not restarted) ${were(reloaded)} proven to serve them`] : []),
    ...(kept.length > 0 ? [`${kept.join(", ")}, never replaced by the kubelet, ${were(kept)} proven still the process${kept.length === 1 ? "" : "es"} from before the renewal (not restarted), healthy`] : []),
    ...(fellBack.length > 0
      ? [`${fellBack.join(", ")} did not reload them within ${timeoutSeconds} s, so ${itWas} restarted and proven healthy`]
      : []),
  ];
  return parts.join(", and ") || "nothing needed a restart";
}

/** What was restored: every manifest but those restarted by the annotation (fellBackOf), which keep it. */
function restoredFrom(rb: NonNullable<RunRecord["rollback"]>, dir: string, annotationKey: string): string {
  const fellBack = fellBackOf(rb);
  if (fellBack.length === 0) return `every renewed file and manifest was restored from ${dir}`;
  const but = fellBack.map((c) => `${c}'s`).join(" and ");
  const carry = fellBack.length === 1 ? "carries" : "carry";
  return `every renewed file was restored from ${dir}, and every manifest but ${but}, which now ${carry} the restart annotation ${annotationKey}`;
}

/** Reports a finished rollback: the Event, the record cleared, the error the exit code comes from. */
async function report(ctx: RunContext, r: RunRecord): Promise<never> {
  const rb = r.rollback!;
  const dir = r.backup;
  let e: RenewCertsError;
  if (rb.outcome === "healthy") {
    const restored = `${restoredFrom(rb, dir, ctx.settings.annotationKey)}${fellBackOf(rb).length > 0 ? ";" : ", and"}`;
    const msg = `${rb.reason}. Rolled back: ${restored} ${provenOn(rb, ctx.settings.healthTimeoutSeconds)} on the previous certificates; `
      + "they still expire as before, so find the cause (journalctl -u kubelet, crictl logs) and run again";
    e = new RenewCertsError("ROLLED_BACK", msg, { file: join(ctx.root, r.steps.find((s) => s.component === rb.component)?.file ?? dir) });
  } else if (rb.restoreFailed) {
    const msg = `${rb.reason}, and restoring the previous files from ${dir} failed too: ${rb.outcome}. Restore them with "renew-certs restore ${dir}", then check the kubelet (journalctl -u kubelet)`;
    e = new RenewCertsError("ROLLBACK_FAILED", msg, { file: dir });
  } else {
    const fellBack = fellBackOf(rb);
    const restarted = fellBack.length > 0
      ? ` (${fellBack.join(", ")} did not reload them, and ${fellBack.length === 1 ? "was" : "were"} restarted by the restart annotation)`
      : "";
    const msg = `${rb.reason}. The previous files were restored from ${dir}${restarted}, but the control plane did not come back healthy on them either: ${rb.outcome}. Check the kubelet (journalctl -u kubelet, crictl ps -a); if a file is wrong, restore it with "renew-certs restore ${dir}"`;
    e = new RenewCertsError("ROLLBACK_FAILED", msg, { file: dir });
  }
  await ctx.coordinator.event("CertificateRenewalRolledBack", e.message, "Warning");
  await finish(ctx.stateDir);
  throw e;
}
