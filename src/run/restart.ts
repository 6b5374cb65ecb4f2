// "restart": one component at a time, kube-apiserver first. For each: who runs it now (its
// identity), the record in "restarting" with that identity and the edit, THEN the edit of its
// static pod manifest (the restart annotation; a rollback puts the backed-up manifest back), which
// makes the kubelet replace the pod; then "prove" (prove.ts), and the record in "proven". Before
// every restart the restart Lease must still be ours. After the last one every component is
// checked once more, so that restarting one never leaves an earlier one down unnoticed.
import { join, relative } from "node:path";
import { readFile } from "node:fs/promises";
import { restartStamp, annotateManifest } from "../manifests/annotate.js";
import { readManifest, type ManifestInfo } from "../manifests/manifest.js";
import { writeFileAtomic } from "../util/atomic.js";
import { sha256 } from "../renewal/backup.js";
import { RenewCertsError } from "../errors.js";
import type { RunContext } from "./context.js";
import { identityOf, stillProven } from "./identity.js";
import { ComponentUnhealthyError, healthOf, proveRestart, type Expected } from "./prove.js";
import { enter, type ComponentStep, type RunRecord } from "./state.js";
import type { HeldLease } from "../coordination/lease.js";

/** How a step changes its manifest: the restart annotation, or the backed-up bytes (a rollback). */
export type Edit = { kind: "annotate" } | { kind: "restore"; bytes: Buffer; mode: number; annotation: string };

const preciseNow = (): number => performance.timeOrigin + performance.now();

/** Whether the edit of `step` is in its manifest already (a resumed run must not make it twice). */
async function edited(ctx: RunContext, step: ComponentStep, edit: Edit): Promise<boolean> {
  const file = join(ctx.root, step.file);
  if (edit.kind === "restore") return sha256(await readFile(file).catch(() => Buffer.alloc(0))) === sha256(edit.bytes);
  return (await readManifest(file)).annotations[ctx.settings.annotationKey] === step.stamp;
}

async function applyEdit(ctx: RunContext, step: ComponentStep, edit: Edit): Promise<void> {
  const file = join(ctx.root, step.file);
  if (edit.kind === "restore") await writeFileAtomic(file, edit.bytes, { mode: edit.mode, what: "manifest", ...(ctx.onStep ? { onStep: ctx.onStep } : {}) });
  else await annotateManifest(file, ctx.settings.annotationKey, step.stamp);
  ctx.onStep?.("renamed", `edited:${step.component}`);
}

/** The steps of the main restarts or of the rollback, and how to store them back. */
export type Track = "restart" | "rollback";
/** The steps of `t`. */
export const stepsOf = (r: RunRecord, t: Track): ComponentStep[] => (t === "restart" ? r.steps : r.rollback!.steps);
/** The record with the steps of `t` replaced. */
export const withSteps = (r: RunRecord, t: Track, steps: ComponentStep[]): RunRecord => (t === "restart" ? { ...r, steps } : { ...r, rollback: { ...r.rollback!, steps } });

/** Begins the restart of one component: identity, record, edit (in this order). */
export async function beginStep(ctx: RunContext, record: RunRecord, track: Track, ref: { component: string; file: string }, edit: Edit): Promise<RunRecord> {
  const file = join(ctx.root, ref.file);
  const m = await readManifest(file);
  const before = await identityOf(m, ctx.probes);
  const stamp = edit.kind === "annotate" ? restartStamp(preciseNow()) : "restored from the backup";
  const step: ComponentStep = {
    component: ref.component, file: ref.file, stamp, annotation: edit.kind === "annotate" ? stamp : edit.annotation,
    writtenAt: Date.now(), before,
  };
  const r = await enter(ctx.stateDir, withSteps(record, track, [...stepsOf(record, track), step]), track === "restart" ? "restarting" : "restarting-previous", ctx.onStep);
  await applyEdit(ctx, step, edit);
  ctx.log.info(`${ref.component}: restart requested`, { file, ...(edit.kind === "annotate" ? { annotation: `${ctx.settings.annotationKey}=${stamp}` } : { edit: stamp }) });
  return r;
}

/** A resumed run: makes the last step's edit if the crash came before it (the record, then the edit). */
export async function ensureEdited(ctx: RunContext, record: RunRecord, track: Track, edit: Edit): Promise<RunRecord> {
  const steps = stepsOf(record, track);
  const last = steps[steps.length - 1]!;
  if (await edited(ctx, last, edit)) return record;
  const again = { ...last, writtenAt: Date.now() };
  const r = await enter(ctx.stateDir, withSteps(record, track, [...steps.slice(0, -1), again]), record.phase, ctx.onStep);
  await applyEdit(ctx, again, edit);
  ctx.log.info(`${again.component}: restart requested (again: the last run stopped before its manifest changed)`, { file: join(ctx.root, again.file) });
  return r;
}

/** Proves the last step (new process, healthy) and records it; throws ComponentUnhealthyError. */
export async function proveLast(ctx: RunContext, record: RunRecord, track: Track, expected: Expected, hooks: Pick<Parameters<typeof proveRestart>[0], "onUnproven" | "veto" | "unchanged"> = {}): Promise<RunRecord> {
  const steps = stepsOf(record, track);
  const last = steps[steps.length - 1]!;
  const m = await readManifest(join(ctx.root, last.file));
  ctx.onStep?.("renamed", `wait:${last.component}`);
  const { evidence } = await proveRestart({
    step: last, manifest: m, probes: ctx.probes, expected, nodeName: ctx.nodeName, annotationKey: ctx.settings.annotationKey,
    timeoutMs: ctx.settings.healthTimeoutSeconds * 1000, log: ctx.log,
    ...(ctx.intervalMs !== undefined ? { intervalMs: ctx.intervalMs } : {}), ...(ctx.clock ? { clock: ctx.clock } : {}), ...(ctx.progress ? { progress: ctx.progress } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}), ...hooks,
  });
  const proven = { ...last, proven: { by: evidence.by, detail: evidence.detail, at: Date.now(), identity: evidence.identity ?? {} } };
  return enter(ctx.stateDir, withSteps(record, track, [...steps.slice(0, -1), proven]), track === "restart" ? "proven" : "restarting-previous", ctx.onStep);
}

/** Every step once more, just before the verdict: still the proven process, still healthy. */
export async function recheck(ctx: RunContext, steps: ComponentStep[], expected: Expected): Promise<void> {
  for (const s of steps) {
    const m: ManifestInfo = await readManifest(join(ctx.root, s.file));
    const same = await stillProven(s, m, ctx.probes);
    const evidence = { proven: true, by: s.proven?.by ?? "", detail: s.proven?.detail ?? "", identity: s.proven?.identity ?? {} };
    const h = same.ok ? await healthOf(m, evidence, ctx.probes, expected) : { healthy: false, detail: same.detail };
    if (!h.healthy) throw new ComponentUnhealthyError(s.component, `${s.component} was proven restarted, but no longer is at the final check: ${h.detail}`, s.file);
  }
}

/** The restart lease must still be ours before a component goes down. */
export function checkLease(lease: HeldLease, next: string): void {
  const lost = lease.lost();
  if (lost) throw new RenewCertsError("LEASE_TIMEOUT", `stopped before restarting ${next}: ${lost}. The certificates are renewed on disk and the components restarted so far are proven; the next run resumes the restarts`);
}

/** The manifest path relative to --root. */
export function relativeTo(root: string, file: string): string {
  return relative(root, file);
}
