// "Is there a kubelet?", before the first write (before even the lock). Every restart of a run is a
// changed static pod manifest that the kubelet must act on: with the kubelet stopped, a run would
// renew, wait out healthTimeoutSeconds for a restart that cannot come, roll back and wait again.
// So a run that would restart something refuses at once (KUBELET_DOWN, exit 16), with nothing
// written, when the kubelet does not answer its healthz, unless a step of this very run brings a
// kubelet back: the re-issue of its own client certificate, after which the run restarts it
// (src/run/kubelet-client.ts; a kubelet that cannot start on an expired certificate is the
// expired-cluster case). A kubelet that runs but cannot reach the API server answers its healthz:
// it is never refused. Not refused either: a run with nothing to restart (not due, disabled), and
// one whose last run is only left to report its rollback. renew-certs never starts a kubelet that
// was stopped for another reason: someone stopped it, and only they know why.
import type { Inventory } from "../inventory/scan.js";
import { checkControlPlane, scanInventory } from "../inventory/scan.js";
import { decideDue, renewableWindows } from "../policy/due.js";
import { checkReissuable, kubeletClientDue } from "../renewal/kubelet-client.js";
import { readRecord } from "../renewal/intent.js";
import { RenewCertsError } from "../errors.js";
import type { RunContext } from "./context.js";
import { asRunRecord } from "./state.js";
import { manifestsToRestart } from "../manifests/list.js";

/** The refusal's words (the issue's, kept stable for people and tests). */
export const KUBELET_DOWN_MESSAGE = "the kubelet is not running: nothing could restart the control plane on renewed certificates; start it (systemctl start kubelet), then run again";

const NOTHING_TO_RESTART = "the run has nothing to restart";

/** Why a run goes on without a running kubelet, or undefined when it must be refused (pure). */
export function withoutKubelet(o: {
  /** The run is due (or the kubelet's client certificate alone makes it due). */
  due: boolean;
  /** An unfinished run's phase, if one is recorded. */
  unfinished: string | undefined;
  /** The unfinished run still has to restart the kubelet onto its re-issued certificate. */
  kubeletRestartPending: boolean;
  /** This run would re-issue the kubelet's client certificate, then restart the kubelet. */
  kubeletClientReissued: boolean;
}): string | undefined {
  if (o.kubeletRestartPending || o.kubeletClientReissued) return "this run re-issues the kubelet's client certificate, then restarts the kubelet";
  if (o.unfinished === "rolled-back") return "the last run is only left to report its rollback";
  if (o.unfinished === undefined && !o.due) return NOTHING_TO_RESTART;
  return undefined;
}

/** Refuses (KUBELET_DOWN) a run that would wait for a kubelet that does not run (see the top of this file). */
export async function checkKubeletRuns(ctx: RunContext): Promise<void> {
  const health = await ctx.runtime.kubeletHealth();
  if (health.state === "running") return; // the usual case: not a word (a run that is not due logs one line)
  if (health.state === "unknown") return ctx.log.debug(`could not tell whether the kubelet runs: ${health.detail}`);
  // Read only: the lock is not taken yet, and a refused run must leave nothing behind.
  await checkControlPlane(ctx.root);
  const inv: Inventory = await scanInventory(ctx.root);
  const job = await readRecord(ctx.stateDir).catch(() => undefined);
  const run = job ? asRunRecord(job) : undefined;
  const now = ctx.now();
  const decision = decideDue(renewableWindows(inv), ctx.settings, now);
  const client = kubeletClientDue(inv, now, decision.due ? ctx.settings.safetyMarginDays : 0);
  const reissued = client.due && !decision.disabled && (await checkReissuable(inv).then(() => true, () => false));
  const because = withoutKubelet({
    due: !decision.disabled && decision.due, unfinished: job ? (run?.phase ?? job.phase) : undefined,
    kubeletRestartPending: run?.kubeletClient?.kubeletRestarted === false, kubeletClientReissued: reissued,
  });
  if (because) {
    // A run with nothing to restart says its one line ("not due"); the kubelet is doctor's to report then.
    const say = because === NOTHING_TO_RESTART ? ctx.log.debug.bind(ctx.log) : ctx.log.warn.bind(ctx.log);
    say(`the kubelet is not running (${health.detail}); going on: ${because}`);
    return;
  }
  // No manifest to restart at all is the bigger problem, and the run's own refusal (exit 4) says how to fix it.
  if ((await manifestsToRestart(ctx.root, ctx.settings.manifests)).present.length === 0) return;
  const left = job ? `; the unfinished run recorded in ${ctx.stateDir} stays as it is, and the next run resumes it` : "";
  throw new RenewCertsError("KUBELET_DOWN", `${KUBELET_DOWN_MESSAGE} (nothing was changed${left}; ${health.detail})`);
}
