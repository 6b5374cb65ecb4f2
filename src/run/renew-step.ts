// "renew": every certificate, as `renew-certs renew all` does, with the run's record riding on the
// renewal's: once every file holds its new bytes, the renewal's record becomes the run's
// "renewed" record in one rename, so that no crash between the two can lose the restarts.
import { join, relative } from "node:path";
import { renewCertificates, type RenewResult } from "../renewal/renew.js";
import type { Inventory } from "../inventory/scan.js";
import type { PlannedRef } from "./restart-plan.js";
import type { RunContext } from "./context.js";
import type { RunCa, RunRecord } from "./state.js";
import { resignedOf, type RunCaPlan } from "../ca/run-step.js";

function fingerprintOf(inv: Inventory, name: string): string | undefined {
  return inv.leaves.find((l) => l.spec.name === name)?.cert?.x509.fingerprint256;
}

/** The earliest NotAfter of the certificates about to be replaced: whether a rollback to them could work. */
function previousNotAfterOf(inv: Inventory, names: string[]): { previousNotAfter?: string } {
  const times = inv.leaves.filter((l) => names.includes(l.spec.name) && l.cert).map((l) => l.cert!.notAfter.getTime());
  return times.length > 0 ? { previousNotAfter: new Date(Math.min(...times)).toISOString() } : {};
}

/** The record's view of the CAs renewed. */
function runCas(cas: readonly RunCaPlan[]): { cas?: RunCa[] } {
  if (cas.length === 0) return {};
  return {
    cas: cas.map(({ plan, adoptedFrom }) => ({
      ca: plan.ca, fingerprint256: plan.made.x509.fingerprint256, previousNotAfter: plan.old.notAfter.toISOString(), deadline: plan.record.deadline,
      ...(adoptedFrom ? { adoptedFrom } : {}),
    })),
  };
}

/**
 * Renews the due CAs (first, src/ca/run-step.ts) and, when `leaves`, every leaf, in one renewal;
 * returns it and the run's record in phase "renewed" (none when nothing was written).
 */
export async function renewForRun(ctx: RunContext, inv: Inventory, restart: PlannedRef[], cas: readonly RunCaPlan[] = [], leaves = true): Promise<{ renew: RenewResult; record: RunRecord | undefined }> {
  let record: RunRecord | undefined;
  const resigned = await resignedOf(cas, { root: ctx.root, refreshRootKubeconfig: ctx.settings.refreshRootKubeconfig });
  // The clock of the CAs' plans: one start for the whole renewal.
  const start = cas[0]?.plan.record.renewedAt;
  const now = start ? (): Date => new Date(start) : ctx.now;
  const renew = await renewCertificates({
    root: ctx.root, names: leaves ? ["all"] : [], resigned, validityDays: ctx.settings.validityDays, log: ctx.log, now, lockHeld: true,
    backupDir: join(ctx.root, ctx.settings.backupDir), backupsKept: ctx.settings.backupsKept, ...(ctx.onStep ? { onStep: ctx.onStep } : {}),
    then: ({ backup, renewed }) => (record = {
      job: "run", phase: "renewed", started: ctx.now().toISOString(), backup,
      renewed: renewed.map((r) => r.name),
      apiserver: { renewed: renewed.find((r) => r.name === "apiserver")?.fingerprint256 ?? fingerprintOf(inv, "apiserver") ?? "", previous: fingerprintOf(inv, "apiserver") },
      restart: restart.map((m) => ({ component: m.component, file: relative(ctx.root, m.file), ...(m.action ? { action: m.action } : {}), ...(m.why ? { why: m.why } : {}) })),
      steps: [],
      ...previousNotAfterOf(inv, renewed.map((r) => r.name)),
      ...runCas(cas),
    }),
  });
  return { renew, record };
}
