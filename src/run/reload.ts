// "reload" (restartMode minimal): a component that re-reads its certificates is not restarted. Its
// step is recorded in "reloading" (on the rollback track, "restarting-previous") with who runs it
// now, BEFORE the wait; there is no edit. Then the same wait as a restart (healthTimeoutSeconds)
// for the proof (reload-proof.ts), and the step recorded proven. A component that has not reloaded
// in time is restarted instead (fallBack): its reference loses the "reload" action and the
// reload step becomes a restart step, in one write, then the manifest edit; it is then proven a new
// process like any restart, never left on the old certificate.
import { join } from "node:path";
import { readManifest } from "../manifests/manifest.js";
import { identityOf } from "./identity.js";
import type { RunContext } from "./context.js";
import { reloadEvidence } from "./reload-proof.js";
import { APISERVER_UNOBSERVABLE, versionOfImage } from "./reload-policy.js";
import { beginStep, stepsOf, withSteps, type Track } from "./restart.js";
import { enter, type ComponentStep, type RunRecord, type StepRef } from "./state.js";
import type { Expected } from "./prove.js";
import type { Evidence } from "./identity.js";
import { progressReporter, realClock, waitHealthy } from "./wait.js";

/** Begins the reload step of `ref`: who runs it now, then the record (no edit: nothing is restarted). */
export async function beginReload(ctx: RunContext, record: RunRecord, track: Track, ref: StepRef): Promise<RunRecord> {
  const m = await readManifest(join(ctx.root, ref.file));
  const before = await identityOf(m, ctx.probes);
  const step: ComponentStep = { kind: "reload", component: ref.component, file: ref.file, stamp: "", annotation: "", writtenAt: Date.now(), before };
  const r = await enter(ctx.stateDir, withSteps(record, track, [...stepsOf(record, track), step]), track === "restart" ? "reloading" : "restarting-previous", ctx.onStep);
  ctx.log.info(`${ref.component}: not restarted; waiting for it to serve the ${track === "restart" ? "renewed" : "previous"} certificates it re-reads from disk`, { file: join(ctx.root, ref.file) });
  return r;
}

/**
 * Waits until the last step's component is proven to run the files on disk; records it proven and
 * returns the record, or returns the reason when it has not reloaded in time.
 */
export async function proveReload(ctx: RunContext, record: RunRecord, track: Track, expected: Expected): Promise<{ record: RunRecord } | { notReloaded: string }> {
  const steps = stepsOf(record, track);
  const last = steps[steps.length - 1]!;
  const m = await readManifest(join(ctx.root, last.file));
  ctx.onStep?.("renamed", `wait:${last.component}`);
  let evidence: Evidence = { proven: false, by: "", detail: "not probed yet" };
  const check = async () => {
    evidence = await reloadEvidence({ root: ctx.root, step: last, manifest: m, probes: ctx.probes, expected });
    return { healthy: evidence.proven, detail: evidence.detail };
  };
  const reporter = progressReporter({ component: last.component, isTTY: ctx.progress?.isTTY ?? false, write: ctx.progress?.write ?? (() => undefined), log: ctx.log });
  const timeoutMs = ctx.settings.healthTimeoutSeconds * 1000;
  const w = await waitHealthy(check, {
    timeoutMs, clock: ctx.clock ?? realClock, onProgress: reporter.onProgress,
    ...(ctx.intervalMs !== undefined ? { intervalMs: ctx.intervalMs } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}),
  }).finally(reporter.done);
  if (!w.healthy) return { notReloaded: `${last.component} did not serve the ${expected.certificates} certificates within ${Math.round(timeoutMs / 1000)} s without a restart: ${evidence.detail}` };
  ctx.log.info(`${last.component}: ${evidence.by === "reload" ? "reloaded" : "restarted meanwhile and runs"} the ${expected.certificates} certificates, proven by what it serves`, { detail: evidence.detail, elapsed: `${(w.elapsedMs / 1000).toFixed(1)}s` });
  if (m.component === "kube-apiserver") {
    const v = versionOfImage(m.image)?.text ?? "its version";
    ctx.log.info(`${last.component}: not observable from outside, known by version (${v}): it re-reads ${APISERVER_UNOBSERVABLE.join("; ")}`);
  }
  const proven = { ...last, proven: { by: evidence.by, detail: evidence.detail, at: Date.now(), identity: evidence.identity ?? {} } };
  return { record: await enter(ctx.stateDir, withSteps(record, track, [...steps.slice(0, -1), proven]), track === "restart" ? "proven" : "restarting-previous", ctx.onStep) };
}

/** The last step did not reload in time: it becomes a restart (see the top of this file). */
export async function fallBack(ctx: RunContext, record: RunRecord, track: Track, reason: string): Promise<RunRecord> {
  const steps = stepsOf(record, track);
  const last = steps[steps.length - 1]!;
  ctx.log.warn(`${reason}: restarting it instead`);
  const refs = track === "restart" ? record.restart : record.rollback!.restart;
  const i = steps.length - 1;
  const ref: StepRef = { component: last.component, file: last.file, why: `${reason}: restarted instead`, fellBack: true };
  const nextRefs = refs.map((x, j) => (j === i ? ref : x));
  const base = track === "restart" ? { ...record, restart: nextRefs } : { ...record, rollback: { ...record.rollback!, restart: nextRefs } };
  return beginStep(ctx, withSteps(base, track, steps.slice(0, -1)), track, ref, { kind: "annotate" });
}

/**
 * The reload of the `i`th component of `track`, begun or resumed: the record with its step proven, or, when it did
 * not reload in time, with a restart step begun in its place (the caller proves it like any
 * restart). `beforeRestart` runs before a fallback restart (the restart Lease must still be ours).
 */
export async function reloadStep(ctx: RunContext, record: RunRecord, track: Track, i: number, expected: Expected, beforeRestart?: () => void): Promise<RunRecord> {
  const ref = (track === "restart" ? record.restart : record.rollback!.restart)[i]!;
  let r = stepsOf(record, track)[i] ? record : await beginReload(ctx, record, track, ref);
  const res = await proveReload(ctx, r, track, expected);
  if ("record" in res) return res.record;
  beforeRestart?.();
  r = await fallBack(ctx, r, track, res.notReloaded);
  return r;
}
