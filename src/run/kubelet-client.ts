// "kubelet client": after the renewal, before the restarts. A kubelet whose own client certificate
// has expired never reaches the API server, so it never replaces a static pod; renew-certs
// re-issues that certificate (src/renewal/kubelet-client.ts) and restarts the kubelet, which loads
// it at its start. The record says so first (kubeletClient, kubeletRestarted false), then the file
// is written, then the kubelet restarted and the record updated: a run killed in between finds the
// record and restarts the kubelet (re-issuing again only if the file on disk is still due).
import { join } from "node:path";
import { scanInventory, type Inventory } from "../inventory/scan.js";
import { checkReissuable, kubeletClientDue, reissueKubeletClient } from "../renewal/kubelet-client.js";
import type { RunContext } from "./context.js";
import { enter, type RunRecord } from "./state.js";
import { caRestarts } from "../ca/run-step.js";

/**
 * Re-issues the kubelet's client certificate when due and restarts the kubelet; restarts it too
 * when the run renewed a CA that kubelet.conf trusts (its certificate-authority-data is read at
 * start: trust-locations.ts). Returns the record.
 */
export async function ensureKubeletClient(ctx: RunContext, record: RunRecord, inv?: Inventory): Promise<RunRecord> {
  if (record.kubeletClient?.kubeletRestarted) return record;
  const forCa = caNeedsKubelet(record);
  const now = ctx.now();
  const current = inv ?? (await scanInventory(ctx.root));
  const due = kubeletClientDue(current, now, ctx.settings.safetyMarginDays);
  if (!due.due && !record.kubeletClient && forCa) return restartForCa(ctx, record);
  if (!due.due && !record.kubeletClient) {
    if (current.kubelet.embedded) ctx.log.warn(due.why);
    return record;
  }
  let r = record;
  if (due.due) {
    ctx.log.warn(`${due.why}: the kubelet cannot rotate it without the API server; re-issuing it`);
    // A layout renew-certs does not re-issue (an external CA, a key in another file) is said, and the run goes on without it.
    const unsupported = await checkReissuable(current).catch((e: unknown) => e as Error);
    if (unsupported instanceof Error) {
      ctx.log.warn(unsupported.message);
      return record;
    }
    r = await enter(ctx.stateDir, { ...r, kubeletClient: { reissued: now.toISOString(), kubeletRestarted: false } }, r.phase, ctx.onStep);
    await reissueKubeletClient({
      inv: current, nodeName: ctx.nodeName, now, validityDays: ctx.settings.validityDays,
      backupDir: join(ctx.root, ctx.settings.backupDir), backupsKept: ctx.settings.backupsKept, log: ctx.log,
      ...(ctx.onStep ? { onStep: ctx.onStep } : {}),
    });
  }
  ctx.log.info(`restarting the kubelet so that it loads its re-issued client certificate (through ${ctx.runtime.name})`);
  try {
    await ctx.runtime.restartKubelet();
  } catch (e) {
    ctx.log.warn(`could not restart the kubelet: ${(e as Error).message}; restart it by hand (systemctl restart kubelet)`);
    return r;
  }
  ctx.onStep?.("renamed", "kubelet-restarted");
  const at = forCa ? { kubeletRestartedForCa: ctx.now().toISOString() } : {};
  return enter(ctx.stateDir, { ...r, ...at, kubeletClient: { ...r.kubeletClient!, kubeletRestarted: true } }, r.phase, ctx.onStep);
}

/** Whether the run renewed a CA whose new certificate the kubelet reads only at start, and has not restarted it yet. */
function caNeedsKubelet(r: RunRecord): boolean {
  return !r.kubeletRestartedForCa && caRestarts((r.cas ?? []).map((c) => c.ca)).kubelet;
}

/**
 * Restarts the kubelet onto kubelet.conf's new CA data, proven by its healthz answering after the
 * restart (systemctl restart returns once the new process has started). A restart killed before
 * its record is written is done again by the next run: restarting the kubelet twice is harmless.
 */
async function restartForCa(ctx: RunContext, r: RunRecord): Promise<RunRecord> {
  const names = (r.cas ?? []).map((c) => c.ca).join(", ");
  ctx.log.info(`restarting the kubelet so that it reads the renewed CA ${names} in kubelet.conf (through ${ctx.runtime.name})`);
  try {
    await ctx.runtime.restartKubelet();
  } catch (e) {
    ctx.log.warn(`could not restart the kubelet: ${(e as Error).message}; restart it by hand (systemctl restart kubelet) before the CA deadline`);
    return r;
  }
  ctx.onStep?.("renamed", "kubelet-restarted");
  const health = await ctx.runtime.kubeletHealth();
  if (health.state === "running") ctx.log.info(`the kubelet was restarted and answers its healthz: ${health.detail}`);
  else ctx.log.warn(`the kubelet was restarted but its healthz does not answer yet (${health.detail}): the restarts below wait for it`);
  return enter(ctx.stateDir, { ...r, kubeletRestartedForCa: ctx.now().toISOString() }, r.phase, ctx.onStep);
}
