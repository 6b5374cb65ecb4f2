// The scheduled job, as named steps driven by its persisted state machine (state.ts): is there a
// kubelet (kubelet-check.ts) → decide (decide.ts) → renew (renew-step.ts) → restart and prove each
// component (sequence.ts, restart.ts, prove.ts) → finish; a component that does not come back →
// roll back (rollback.ts); a run that finds an unfinished one → resume it first (resume.ts). The
// metrics file is written after every run, whatever happened, except one refused for a kubelet that
// does not run: that one writes nothing at all; before it, the run's report on this host's Node
// (src/report/node-report.ts), except after a dry run. A run asked to stop (SIGTERM: `signal`) stops at its
// next wait or step (util/stop.ts) and says where it stopped and what the next run will do (TERMINATED).
import type { Settings } from "../config/settings.js";
import type { Logger } from "../log/logger.js";
import { scanInventory, type Inventory } from "../inventory/scan.js";
import { dueSummary, notDueMessage, type DueDecision } from "../policy/due.js";
import { lockAndRecover, renewCertificates, stateDirOf, type RenewResult } from "../renewal/renew.js";
import type { AtomicWriteOptions } from "../util/atomic.js";
import { RenewCertsError } from "../errors.js";
import { NO_COORDINATION, type Coordinator } from "./coordinator.js";
import { adminCredentials, realProbes, type RunContext } from "./context.js";
import { decide } from "./decide.js";
import { checkKubeletRuns } from "./kubelet-check.js";
import { renewForRun } from "./renew-step.js";
import { complete, restartAll } from "./sequence.js";
import { resume } from "./resume.js";
import { asRunRecord, describeJob, type ComponentStep } from "./state.js";
import type { Probes } from "./prove.js";
import type { Clock } from "./wait.js";
import { caMetrics, certificateMetrics, writeMetrics } from "./metrics.js";
import { nodeRuntimeOf, type NodeRuntime } from "../kubelet/runtime.js";
import { readRecord } from "../renewal/intent.js";
import { isStopped, throwIfStopped } from "../util/stop.js";
import { exitCodeFor, exitRow } from "../cli/exit-codes.js";
import { planRunCas, publishUnpublished, resignedOf, type RunCaPlan } from "../ca/run-step.js";
import { apiCaCluster, NO_CA_CLUSTER, type CaCluster } from "../ca/cluster-port.js";
import { kubeClient } from "../kube/client.js";
import { localApiEndpoint } from "../kube/endpoint.js";
import { reportControlPlaneRun } from "../report/node-report.js";

/** Options of one run of the scheduled job. */
export interface RunJobOptions {
  root: string;
  /** The settings, with nodeName set (the CLI fills it from kubelet.conf or the host name). */
  settings: Settings;
  dryRun?: boolean;
  log: Logger;
  /** The clock of the decision and the renewal (default now). */
  now?: () => Date;
  /** Where restart waits are shown (a terminal or the journal). */
  progress?: { isTTY: boolean; write: (text: string) => void };
  /** The probes of the proofs and health checks, and the waits' clock: tests inject their own. */
  probes?: Partial<Probes>;
  clock?: Clock;
  intervalMs?: number;
  /** One host at a time, and Events (default: none). */
  coordinator?: Coordinator;
  /** The kubelet and container runtime (default: the host's tools for "/", the kubelet double of a sandbox). */
  runtime?: NodeRuntime;
  /** Fault injection for crash tests: called after every durable step. */
  onStep?: AtomicWriteOptions["onStep"];
  /** Aborted when the run is to stop (SIGTERM): it stops at its next wait or step and throws TERMINATED. */
  signal?: AbortSignal;
  /** The cluster side of a CA renewal (publish, adopt, prove); default: the local API server with admin.conf. */
  caCluster?: CaCluster;
}

/** What a run did. */
export type RunOutcome =
  | { kind: "disabled"; decision: DueDecision }
  | { kind: "not-due"; decision: DueDecision }
  | { kind: "nothing-renewed"; decision: DueDecision; renew: RenewResult }
  | { kind: "dry-run"; decision: DueDecision; cas: string[]; renew: RenewResult; manifests: string[]; reloads: string[] }
  | { kind: "renewed"; decision: DueDecision | undefined; cas: string[]; renewed: string[]; steps: ComponentStep[]; resumed: boolean };

/** Runs the scheduled job once (see the top of this file). */
export async function runJob(o: RunJobOptions): Promise<RunOutcome> {
  const s = o.settings;
  const now = o.now ?? (() => new Date());
  const runtime = o.runtime ?? nodeRuntimeOf(o.root);
  const ctx: RunContext = {
    root: o.root, settings: s, nodeName: s.nodeName, stateDir: stateDirOf(o.root), log: o.log,
    probes: { ...realProbes(o.root), containers: containersOf(runtime), ...o.probes }, coordinator: o.coordinator ?? NO_COORDINATION, now,
    runtime,
    ...(o.clock ? { clock: o.clock } : {}), ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}),
    ...(o.progress ? { progress: o.progress } : {}), ...(o.onStep ? { onStep: o.onStep } : {}), ...(o.signal ? { signal: o.signal } : {}),
    caCluster: o.caCluster ?? apiCaCluster(async () => kubeClient(await localApiEndpoint(o.root), await adminCredentials(o.root), 3000)),
  };
  let success = false;
  let failure: unknown;
  let renewedAt: Date | undefined;
  let inv: Inventory | undefined;
  // Before the first write (the lock's directory included): a run no kubelet could carry out is
  // refused. A dry run shows its plan all the same, and says that the real run would be refused.
  await checkKubeletRuns(ctx).catch((e: unknown) => {
    if (!(o.dryRun && e instanceof RenewCertsError && e.code === "KUBELET_DOWN")) throw e;
    o.log.warn(`a real run would be refused (exit 16): ${e.message}`);
  });
  const held = o.dryRun ? undefined : await lockAndRecover(o.root, o.log, s.lockTimeoutSeconds * 1000, o.signal).catch((e: unknown) => {
    throw isStopped(e) ? new RenewCertsError("TERMINATED", `${e.message} while waiting for the lock: this run wrote nothing`, { cause: e }) : e;
  });
  try {
    inv = await scanInventory(o.root);
    const unfinished = held && "record" in held.recovery ? asRunRecord(held.recovery.record) : undefined;
    if (unfinished) {
      const done = await resume(ctx, unfinished, inv);
      success = true;
      renewedAt = new Date(done.started);
      return { kind: "renewed", decision: undefined, cas: (done.cas ?? []).map((c) => c.ca), renewed: done.renewed, steps: done.steps, resumed: true };
    }
    const { decision, restart, cas } = await decide(ctx, inv);
    if (decision.disabled || (!decision.due && cas.length === 0)) {
      if (!o.dryRun && !decision.disabled) await publishUnpublished({ inv, settings: s, now: now(), log: o.log, cluster: ctx.caCluster ?? NO_CA_CLUSTER });
      o.log.info(notDueMessage(decision, s));
      success = true;
      return { kind: decision.disabled ? "disabled" : "not-due", decision };
    }
    if (decision.due) o.log.info(dueSummary(decision, s));
    for (const r of decision.reasons) o.log.debug(`due: ${r.text}`, { certificate: r.name });
    for (const c of cas) o.log.info(`${c.why}: renewing it with its own key before the leaves${decision.due ? "" : " (the leaves are not due: only the CA)"}`);
    const caPlans = await planRunCas({ inv, settings: s, now: now(), log: o.log, cluster: ctx.caCluster ?? NO_CA_CLUSTER }, cas);
    if (o.dryRun) {
      for (const p of caPlans) o.log.info(`would ${p.adoptedFrom ? `adopt ${p.plan.ca} from ${p.adoptedFrom}` : `re-sign ${p.plan.ca} with its own key`}, until ${p.plan.made.notAfter.toISOString()}`);
      const resigned = await resignedOf(caPlans, { root: o.root, refreshRootKubeconfig: s.refreshRootKubeconfig });
      const names = decision.due ? ["all"] : [];
      const renew = await renewCertificates({ root: o.root, names, resigned, dryRun: true, validityDays: s.validityDays, log: o.log, now });
      success = true;
      return { kind: "dry-run", decision, cas: caPlans.map((p) => p.plan.ca), renew, manifests: restart.filter((m) => !m.action).map((m) => m.file), reloads: restart.filter((m) => m.action === "reload").map((m) => m.file) };
    }
    throwIfStopped(o.signal); // SIGTERM before the renewal: nothing written yet
    const { renew, record } = await renewForRun(ctx, inv, restart, caPlans, decision.due);
    if (!record) {
      o.log.warn("nothing was renewed (every due certificate is externally managed or missing): nothing to restart");
      return { kind: "nothing-renewed", decision, renew };
    }
    for (const p of caPlans) o.log.info(`${p.adoptedFrom ? `adopted ${p.plan.ca} from ${p.adoptedFrom}` : `re-signed ${p.plan.ca} with its own key`}`, caFields(p));
    const done = await restartAll(ctx, record).catch((e: unknown) => {
      // Still down on the renewed certificates (exit 15): they stay on disk, so they count as renewed.
      if (e instanceof RenewCertsError && e.code === "STILL_DOWN") renewedAt = renew.start;
      throw e;
    });
    await complete(ctx, done);
    renewedAt = renew.start; // only a renewal that stays: a rolled-back one is no renewal for the metrics
    success = true;
    return { kind: "renewed", decision, cas: (done.cas ?? []).map((c) => c.ca), renewed: done.renewed, steps: done.steps, resumed: false };
  } catch (caught) {
    const e = isStopped(caught) ? await stoppedAt(ctx, caught) : caught;
    failure = e;
    if (isStopped(e)) throw e; // no Event: a stopping host exits at once
    // No event before the inventory was read: on a host that is not a control plane there is no Node to tell.
    // A dry run writes nothing, to the cluster neither.
    if (inv && !o.dryRun && !(e instanceof RenewCertsError && (e.code === "ROLLED_BACK" || e.code === "ROLLBACK_FAILED" || e.code === "STILL_DOWN"))) {
      await ctx.coordinator.event("CertificateRenewalFailed", (e as Error).message, "Warning");
    }
    throw e;
  } finally {
    if (inv && !o.dryRun) {
      const latest = await scanInventory(o.root).catch(() => inv!);
      const exit = success || failure === undefined ? 0 : failure instanceof RenewCertsError ? exitCodeFor(failure.code) : 1;
      const result = { exitCode: exit, summary: exitRow(exit)?.summary ?? "" };
      const certificates = certificateMetrics(latest);
      const cas = await caMetrics(o.root, s.caRenewBeforeDays, now()).catch(() => []);
      // This host's report on its Node, and the count of Nodes on an old CA for the metrics (src/report); a stopping host exits at once.
      const leaves = certificates.filter((c) => !c.authority);
      const cluster = isStopped(failure) ? undefined : await reportControlPlaneRun({ root: o.root, nodeName: s.nodeName, exitCode: exit, now: now(), log: o.log, leaves });
      const metrics = { certificates, cas, runAt: now(), success, renewedAt, result, ...(cluster ? { cluster } : {}) };
      const file = !s.metricsFile ? undefined : await writeMetrics(o.root, s.metricsFile, metrics).catch((err: unknown) => {
        o.log.warn(`could not write the metrics file: ${(err as Error).message}`);
        return undefined;
      });
      if (file) o.log.debug("metrics written", { file });
    }
    await held?.lock.release();
  }
}

/** The container runtime as a proof source (identity.ts): the containers named after a component. */
function containersOf(runtime: NodeRuntime): (component: string) => Promise<{ id: string; state: "running" | "exited"; createdAt: number }[]> {
  return async (component) => (await runtime.containers()).filter((c) => c.name === component);
}

/** A renewed CA's fields for the log line. */
function caFields(p: RunCaPlan): Record<string, unknown> {
  return { serial: p.plan.made.x509.serialNumber, notAfter: p.plan.made.notAfter.toISOString(), deadline: p.plan.record.deadline };
}

/**
 * The TERMINATED error of a run stopped at a wait or between two steps: the state the job record
 * holds (every state is written before its effect, so it is where the run stopped) and what the
 * next run will do with it.
 */
async function stoppedAt(ctx: RunContext, e: RenewCertsError): Promise<RenewCertsError> {
  const record = await readRecord(ctx.stateDir).catch(() => undefined);
  const described = record ? describeJob(record) : undefined;
  const where = described ? `while ${described.state}: the next run will ${described.next}` : "before anything was written: the next run starts afresh";
  return new RenewCertsError("TERMINATED", `${e.message} ${where}`, { cause: e });
}
