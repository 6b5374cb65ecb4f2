// The restart sequence of a run, from its record: take the restart Lease, restart and prove each
// component not proven yet (restart.ts, prove.ts), check them all once more, and record the run
// "verified"; then finish it (/root/.kube/config, the Event, the record removed). Used by a run
// that has just renewed and by one that resumes (resume.ts): both go through the same states.
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { LAYOUT } from "../inventory/catalog.js";
import type { Lease } from "./coordinator.js";
import { adminCredentials, type RunContext } from "./context.js";
import { beginStep, checkLease, ensureEdited, proveLast, recheck } from "./restart.js";
import { ComponentUnhealthyError, type Expected } from "./prove.js";
import { rollBack } from "./rollback.js";
import { reloadStep } from "./reload.js";
import { kubeletFallbacks } from "./fallback.js";
import { ensureKubeletClient } from "./kubelet-client.js";
import { keepRenewed, previousCannotWork } from "./still-down.js";
import { enter, finish, type RunRecord } from "./state.js";
import { refreshRootKubeconfig } from "./root-kubeconfig.js";
import { throwIfStopped } from "../util/stop.js";
import { caClusterSteps } from "./ca-cluster.js";
import { kubeconfigRefreshCommand } from "../ca/run-step.js";
import type { RunCa } from "./state.js";

/** What the operator must still do for a renewed CA, before its deadline. */
function caDone(root: string, c: RunCa): string {
  const file = join(root, c.ca === "etcd-ca" ? `${LAYOUT.pkiDir}/etcd/ca.crt` : `${LAYOUT.pkiDir}/${c.ca}.crt`);
  const users = c.ca === "ca" ? `; users' kubeconfig copies: ${kubeconfigRefreshCommand(undefined, file)}` : "";
  return `CA ${c.ca} renewed with its own key (${c.adoptedFrom ? `adopted from ${c.adoptedFrom}` : "re-signed on this host"}); ` +
    `by ${c.deadline} everything else that trusts it must hold the new certificate (worker nodes, pods with in-cluster clients started before now${users})`;
}

/** Restarts and proves every component of the record that is not proven yet; rolls back on failure. */
export async function restartAll(ctx: RunContext, record: RunRecord): Promise<RunRecord> {
  // Not obtained (LEASE_TIMEOUT): the record stays, and the next run restarts.
  let r = await ensureKubeletClient(ctx, record);
  throwIfStopped(ctx.signal);
  const lease: Lease = await ctx.coordinator.acquire(ctx.signal);
  const fallbacks = kubeletFallbacks(ctx);
  try {
    const expected: Expected = { apiserverFingerprint: r.apiserver.renewed, credentials: await adminCredentials(ctx.root), certificates: "renewed" };
    try {
      for (let i = 0; i < r.restart.length; i++) {
        const ref = r.restart[i]!;
        const step = r.steps[i];
        if (step?.proven) continue;
        throwIfStopped(ctx.signal); // SIGTERM: before the next component, not in the middle of one
        if (ref.action === "reload") {
          // Left running (restartMode minimal): proven reloaded, or restarted when it does not reload in time.
          r = await reloadStep(ctx, r, "restart", i, expected, () => checkLease(lease, ref.component));
          if (r.steps[i]!.proven) continue;
        } else if (step) {
          r = await ensureEdited(ctx, r, "restart", { kind: "annotate" });
        } else {
          checkLease(lease, ref.component);
          r = await beginStep(ctx, r, "restart", ref, { kind: "annotate" });
        }
        r = await proveLast(ctx, r, "restart", expected, fallbacks.hooksFor(r.steps[r.steps.length - 1]!));
      }
      await recheck(ctx, r.steps, expected);
    } catch (e) {
      if (e instanceof ComponentUnhealthyError) {
        // Never back onto certificates that cannot work: keep the renewed ones, and let the next run try again.
        const cannot = previousCannotWork(r, ctx.now(), ctx.settings.safetyMarginDays);
        if (cannot) return await keepRenewed(ctx, r, e, cannot, fallbacks.tried(e.component));
        return await rollBack(ctx, r, { component: e.component, message: e.message });
      }
      throw e;
    }
    r = await enter(ctx.stateDir, r, "verified", ctx.onStep);
  } finally {
    await lease.release();
  }
  return r;
}

/** Finishes a verified run: /root/.kube/config when it was a copy of the old admin.conf, the Event, the record removed. */
export async function complete(ctx: RunContext, verified: RunRecord): Promise<void> {
  const r = await caClusterSteps(ctx, verified);
  if (ctx.settings.refreshRootKubeconfig) {
    const old = await readFile(join(r.backup, "files", LAYOUT.kubernetesDir, "admin.conf"), "utf8").catch(() => undefined);
    if (old !== undefined) await refreshRootKubeconfig({ root: ctx.root, oldAdmin: old, log: ctx.log });
  }
  const restarted = r.steps.filter((s) => s.kind !== "reload");
  const reloaded = r.steps.filter((s) => s.kind === "reload");
  const proofs = restarted.map((s) => `${s.component} (${s.proven?.by ?? "?"})`).join(", ");
  const kept = reloaded.length > 0 ? `; ${reloaded.length} not restarted, proven to run the renewed certificates by what they serve: ${reloaded.map((s) => s.component).join(", ")}` : "";
  for (const c of r.cas ?? []) ctx.log.info(caDone(ctx.root, c), { deadline: c.deadline });
  const cas = r.cas?.length ? `CA ${r.cas.map((c) => c.ca).join(", ")} and ` : "";
  ctx.log.info(`renewed and healthy: ${cas}${r.renewed.length} certificate(s); ${restarted.length} component(s) restarted and proven new${proofs ? `: ${proofs}` : ""}${kept}`, { backup: r.backup });
  await ctx.coordinator.event("CertificatesRenewed", `renewed ${cas}${r.renewed.join(", ") || `the certificates of ${r.started}`}; restarted ${restarted.map((s) => s.component).join(", ") || "nothing"}, each proven a new, healthy process${reloaded.length > 0 ? `; reloaded without a restart: ${reloaded.map((s) => s.component).join(", ")}` : ""}`, "Normal");
  await finish(ctx.stateDir);
}
