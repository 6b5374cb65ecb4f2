// The fallbacks of a restart the kubelet does not carry out. A kubelet that has not reached the API
// server since it started (the API server is down, its own client certificate expired, the host
// rebooted after the certificates expired) never removes an old static pod: it logs "Failed to
// delete pod … skipping delete because sources aren't ready yet" and the new pod never starts. When
// a restarted component is still not proven a new process `fallbackAfterSeconds` after its wait
// began, renew-certs finds out why from what the host shows (the kubelet's log, the containers, the
// proof's own evidence), says so, and in this order:
//   1. restarts the kubelet, which then runs the manifests as they are now;
//   2. after as long again, stops the component's container from before the change through the
//      container runtime, so that the kubelet starts the new one.
// Each step is logged with its reason; the proof goes on as for any restart (prove.ts), so nothing
// counts as restarted until a new process is proven. A process that started after the change does
// not count while the kubelet says it kept the old pod (the old pod's container, revived by its
// crash loop once the renewed files let it start): the kubelet would replace it later.
import { join } from "node:path";
import { readManifest } from "../manifests/manifest.js";
import type { Evidence } from "./identity.js";
import type { RunContext } from "./context.js";
import type { ComponentStep } from "./state.js";
import type { RuntimeContainer } from "../kubelet/runtime.js";

/** The kubelet's words when it cannot replace a static pod. */
export const SOURCES_NOT_READY = "skipping delete because sources aren't ready yet";

/** One fallback carried out (or attempted), for the log and the final message. */
export interface FallbackAttempt {
  action: "restart-kubelet" | "stop-container";
  at: number;
  reason: string;
  /** What came of it: "done", or why not. */
  outcome: string;
}

/** For people: "restarted the kubelet (because …)". */
export function describeAttempt(a: FallbackAttempt): string {
  const what = a.action === "restart-kubelet" ? "restarted the kubelet" : "stopped the old container";
  return a.outcome === "done" ? `${what} at ${new Date(a.at).toISOString()} (${a.reason})` : `could not ${what.replace(/^restarted/, "restart").replace(/^stopped/, "stop")}: ${a.outcome}`;
}

/** Why a restart is stuck, from what the host shows (pure): the reason logged before a fallback. */
export function diagnosis(o: { component: string; pod: string; seconds: number; log: string[]; containers: RuntimeContainer[]; writtenAt: number; evidence: Evidence }): string {
  const stuck = o.log.some((l) => l.includes(SOURCES_NOT_READY) && l.includes(o.pod));
  const mine = o.containers.filter((c) => c.name === o.component);
  const old = mine.filter((c) => c.state === "running" && c.createdAt < o.writtenAt);
  const parts = [
    stuck ? `the kubelet logs "${SOURCES_NOT_READY}" for kube-system/${o.pod}: it has not reached the API server since it started, so it never removes the old pod and the new one waits`
      : `no new ${o.component} process ${o.seconds} s after its manifest changed`,
    old.length > 0 ? `its container ${old.map((c) => c.id.slice(0, 13)).join(", ")} from before the change still runs`
      : mine.some((c) => c.state === "running") ? "" : `no ${o.component} container runs`,
    o.evidence.detail,
  ];
  return parts.filter((p) => p !== "").join("; ");
}

/** The fallbacks of one run, per component (see the top of this file). */
export interface Fallbacks {
  /** proveRestart's hooks while `step` is being proven: the fallbacks, and the kubelet's veto. */
  hooksFor(step: ComponentStep): { onUnproven: (elapsedMs: number, evidence: Evidence) => Promise<void>; veto: (evidence: Evidence) => Promise<string | undefined> };
  /** What was tried for `component`. */
  tried(component: string): FallbackAttempt[];
}

/** The fallbacks of a run in `ctx`. */
export function kubeletFallbacks(ctx: RunContext): Fallbacks {
  const attempts = new Map<string, FallbackAttempt[]>();
  const bound = ctx.settings.fallbackAfterSeconds * 1000;
  const listOf = (c: string): FallbackAttempt[] => attempts.get(c) ?? (attempts.set(c, []), attempts.get(c)!);

  const attempt = async (step: ComponentStep, action: FallbackAttempt["action"], reason: string, act: () => Promise<string>): Promise<void> => {
    const a: FallbackAttempt = { action, at: Date.now(), reason, outcome: "" };
    listOf(step.component).push(a);
    try {
      a.outcome = await act();
    } catch (e) {
      a.outcome = (e as Error).message;
    }
    if (a.outcome === "done") ctx.onStep?.("renamed", `fallback:${action}:${step.component}`);
    else ctx.log.warn(`${step.component}: ${describeAttempt(a)}`);
  };

  return {
    tried: (c) => attempts.get(c) ?? [],
    hooksFor(step) {
      const veto = async (evidence: Evidence): Promise<string | undefined> => {
        // A kubelet restarted (for any component) or the old container stopped since the change:
        // what starts now is the new pod.
        const acted = [...attempts.values()].flat().some((a) => a.outcome === "done" && a.at >= step.writtenAt && (a.action === "restart-kubelet" || listOf(step.component).includes(a)));
        if (acted) return undefined;
        const m = await readManifest(join(ctx.root, step.file));
        const pod = `${m.name}-${ctx.nodeName}`;
        const log = await ctx.runtime.kubeletLog(step.writtenAt).catch(() => [] as string[]);
        if (!log.some((l) => l.includes(SOURCES_NOT_READY) && l.includes(pod))) return undefined;
        return `a process started after the change (${evidence.detail}), but the kubelet logs "${SOURCES_NOT_READY}" for kube-system/${pod}: it is the old pod's container, restarted in its crash loop, which the kubelet has not replaced`;
      };
      const onUnproven = async (elapsedMs: number, evidence: Evidence): Promise<void> => {
        const done = listOf(step.component);
        const next = done.length === 0 && elapsedMs >= bound ? "restart-kubelet" : done.length === 1 && elapsedMs >= 2 * bound ? "stop-container" : undefined;
        if (!next) return;
        const m = await readManifest(join(ctx.root, step.file));
        const pod = `${m.name}-${ctx.nodeName}`;
        const [log, containers] = await Promise.all([
          ctx.runtime.kubeletLog(step.writtenAt - 60_000).catch(() => [] as string[]),
          ctx.runtime.containers().catch(() => [] as RuntimeContainer[]),
        ]);
        const reason = diagnosis({ component: step.component, pod, seconds: Math.round(elapsedMs / 1000), log, containers, writtenAt: step.writtenAt, evidence });
        if (next === "restart-kubelet") {
          ctx.log.warn(`${step.component}: not restarted by the kubelet: ${reason}; restarting the kubelet (through ${ctx.runtime.name})`);
          await attempt(step, next, reason, async () => (await ctx.runtime.restartKubelet(), "done"));
          return;
        }
        const old = containers.filter((c) => c.name === step.component && c.state === "running" && c.createdAt < step.writtenAt);
        if (old.length === 0) {
          listOf(step.component).push({ action: next, at: Date.now(), reason, outcome: `no ${step.component} container from before the change runs` });
          ctx.log.warn(`${step.component}: still not restarted after the kubelet's restart (${reason}), and no container of it from before the change runs: nothing to stop`);
          return;
        }
        ctx.log.warn(`${step.component}: still not restarted after the kubelet's restart: ${reason}; stopping its old container ${old.map((c) => c.id.slice(0, 13)).join(", ")} (through ${ctx.runtime.name})`);
        await attempt(step, next, reason, async () => {
          for (const c of old) await ctx.runtime.stopContainer(c.id);
          return "done";
        });
      };
      return { onUnproven, veto };
    },
  };
}
