import { join } from "node:path";
import { readFile } from "node:fs/promises";
import type { Settings } from "../config/settings.js";
import type { Logger } from "../log/logger.js";
import { LAYOUT } from "../inventory/catalog.js";
import { scanInventory, type Inventory } from "../inventory/scan.js";
import { decideDue, dueSummary, notDueMessage, renewableWindows, type DueDecision } from "../policy/due.js";
import { renewCertificates, lockAndRecover, stateDirOf, type RenewResult } from "../renewal/renew.js";
import { readPending, writePending, clearPending } from "./pending.js";
import { openBackup, restoreFiles } from "../renewal/backup.js";
import { writeIntent, clearIntent } from "../renewal/intent.js";
import { manifestsToRestart } from "../manifests/list.js";
import { writeFileAtomic, type AtomicWriteOptions } from "../util/atomic.js";
import { RenewCertsError } from "../errors.js";
import { credentialsFromKubeconfig } from "./health.js";
import { restartControlPlane, ComponentUnhealthyError, type ComponentResult, type RestartChecks } from "./restart.js";
import type { Clock } from "./wait.js";
import { certificateMetrics, writeMetrics } from "./metrics.js";
import { refreshRootKubeconfig } from "./root-kubeconfig.js";
import { NO_COORDINATION, type Coordinator } from "./coordinator.js";

/** Options of one run of the scheduled job. */
export interface RunJobOptions {
  root: string;
  settings: Settings;
  dryRun?: boolean;
  log: Logger;
  /** The clock of the decision and the renewal (default now). */
  now?: () => Date;
  /** Where restart waits are shown (a terminal or the journal). */
  progress?: { isTTY: boolean; write: (text: string) => void };
  /** Health probes and the waits' clock: tests inject their own. */
  checks?: Partial<RestartChecks>;
  clock?: Clock;
  intervalMs?: number;
  /** One host at a time, and Events (default: none). */
  coordinator?: Coordinator;
  /** Fault injection for crash tests. */
  onStep?: AtomicWriteOptions["onStep"];
}

/** What a run did. */
export type RunOutcome =
  | { kind: "disabled"; decision: DueDecision }
  | { kind: "not-due"; decision: DueDecision }
  | { kind: "dry-run"; decision: DueDecision; renew: RenewResult; manifests: string[] }
  | { kind: "renewed"; decision: DueDecision; renew: RenewResult; restarts: ComponentResult[] };

function fingerprintOf(inv: Inventory, name: string): string | undefined {
  return inv.leaves.find((l) => l.spec.name === name)?.cert?.x509.fingerprint256;
}

/**
 * The scheduled job: decide, renew, restart one component at a time, prove health; when a
 * component does not come back, restore the backup so that every file is as before, let the
 * kubelet restart the components onto it, and fail with ROLLED_BACK (or ROLLBACK_FAILED).
 * Writes the metrics file after every run, whatever happened.
 */
export async function runJob(o: RunJobOptions): Promise<RunOutcome> {
  const s = o.settings;
  const now = o.now ?? (() => new Date());
  const coordinator = o.coordinator ?? NO_COORDINATION;
  let success = false;
  let renewedAt: Date | undefined;
  let inv: Inventory | undefined;
  const lock = o.dryRun ? undefined : (await lockAndRecover(o.root, o.log, s.lockTimeoutSeconds * 1000)).lock;
  try {
    inv = await scanInventory(o.root);
    const stateDir = stateDirOf(o.root);
    const pending = o.dryRun ? undefined : await readPending(stateDir);
    const decision = decideDue(renewableWindows(inv), s, now());
    if (!pending && (decision.disabled || !decision.due)) {
      o.log.info(notDueMessage(decision, s));
      success = true;
      return { kind: decision.disabled ? "disabled" : "not-due", decision };
    }
    const restartList = await manifestsToRestart(o.root, s.manifests);
    if (o.dryRun) {
      o.log.info(dueSummary(decision, s));
      const renew = await renewCertificates({ root: o.root, names: ["all"], dryRun: true, validityDays: s.validityDays, log: o.log, now });
      success = true;
      return { kind: "dry-run", decision, renew, manifests: restartList.present.map((m) => m.file) };
    }
    const adminFile = join(o.root, LAYOUT.kubernetesDir, "admin.conf");
    let oldAdmin: string | undefined;
    let renew: RenewResult;
    let previousApiserver: string;
    if (pending) {
      o.log.warn(`the certificates renewed at ${pending.renewedAt} are not loaded yet (the last run could not restart): restarting the control plane now`, { backup: pending.backup });
      renew = { start: new Date(pending.renewedAt), dryRun: false, recovery: { action: "none" }, renewed: [], skipped: [], writes: [], backup: pending.backup, before: inv };
      previousApiserver = pending.previousApiserverFingerprint;
    } else {
      o.log.info(dueSummary(decision, s));
      for (const r of decision.reasons) o.log.debug(`due: ${r.text}`, { certificate: r.name });
      oldAdmin = await readFile(adminFile, "utf8").catch(() => undefined);
      const before = fingerprintOf(inv, "apiserver");
      renew = await renewCertificates({
        root: o.root, names: ["all"], validityDays: s.validityDays, log: o.log, now, lockHeld: true,
        backupDir: join(o.root, s.backupDir), backupsKept: s.backupsKept, ...(o.onStep ? { onStep: o.onStep } : {}),
      });
      renewedAt = renew.start;
      inv = await scanInventory(o.root);
      previousApiserver = before ?? fingerprintOf(inv, "apiserver") ?? "";
      await writePending(stateDir, { renewedAt: renew.start.toISOString(), backup: renew.backup ?? "", previousApiserverFingerprint: previousApiserver });
    }
    const expected = fingerprintOf(inv, "apiserver");
    if (!expected) throw new RenewCertsError("RENEW_FAILED", `no apiserver certificate under ${o.root}: cannot prove the API server's health`);
    const credentials = await credentialsFromKubeconfig(adminFile, o.root);
    // Not obtained (LEASE_TIMEOUT): the pending record stays, and the next run restarts.
    const lease = await coordinator.acquire();
    let restarts: ComponentResult[];
    try {
      restarts = await restartControlPlane({
        root: o.root, settings: s, manifests: restartList.present, expectedApiserverFingerprint: expected, credentials, log: o.log,
        ...(o.checks ? { checks: o.checks } : {}), ...(o.clock ? { clock: o.clock } : {}), ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}), ...(o.progress ? { progress: o.progress } : {}),
      });
    } catch (e) {
      if (!(e instanceof ComponentUnhealthyError)) throw e;
      await clearPendingAfter(stateDir, rollBack(o, renew, e, previousApiserver, coordinator));
      throw e; // unreachable: rollBack always throws
    } finally {
      await lease.release();
    }
    await clearPending(stateDir);
    if (oldAdmin !== undefined && s.refreshRootKubeconfig) await refreshRootKubeconfig({ root: o.root, oldAdmin, log: o.log });
    const names = renew.renewed.map((r) => r.name).join(", ") || `the certificates renewed at ${renew.start.toISOString()}`;
    o.log.info(`renewed and healthy: ${renew.renewed.length} certificate(s), ${restarts.length} component(s) restarted`, { backup: renew.backup });
    await coordinator.event("CertificatesRenewed", `renewed ${names}; restarted ${restarts.map((r) => r.component).join(", ")}; all healthy`, "Normal");
    success = true;
    return { kind: "renewed", decision, renew, restarts };
  } catch (e) {
    // No event before the inventory was read: on a host that is not a control plane there is no Node to tell.
    if (inv && !(e instanceof RenewCertsError && (e.code === "ROLLED_BACK" || e.code === "ROLLBACK_FAILED"))) {
      await coordinator.event("CertificateRenewalFailed", (e as Error).message, "Warning");
    }
    throw e;
  } finally {
    if (inv && s.metricsFile && !o.dryRun) {
      const file = await writeMetrics(o.root, s.metricsFile, { certificates: certificateMetrics(inv), runAt: now(), success, renewedAt }).catch((err: unknown) => {
        o.log.warn(`could not write the metrics file: ${(err as Error).message}`);
        return undefined;
      });
      if (file) o.log.debug("metrics written", { file });
    }
    await lock?.release();
  }
}

/** Clears the pending-restart record once a rollback has finished, whichever way it ended. */
async function clearPendingAfter(stateDir: string, rollback: Promise<never>): Promise<never> {
  try {
    return await rollback;
  } finally {
    await clearPending(stateDir).catch(() => undefined);
  }
}

/**
 * Puts every file of the renewal's backup back (certificates, kubeconfigs, then each restarted
 * manifest, which makes the kubelet restart that component onto the old files), waits for
 * health again, and throws ROLLED_BACK, or ROLLBACK_FAILED when even that did not work.
 */
async function rollBack(o: RunJobOptions, renew: RenewResult, failure: ComponentUnhealthyError, oldApiserver: string, coordinator: Coordinator): Promise<never> {
  const s = o.settings;
  o.log.error(`${failure.message}; rolling back to the previous certificates`, { backup: renew.backup });
  const { dir, index } = await openBackup(join(o.root, s.backupDir), renew.backup!);
  const manifestsDir = LAYOUT.manifestsDir + "/";
  const restarted = failure.results.map((r) => r.file);
  try {
    // The restore is itself recorded, so that a run killed half-way through it is finished by the next.
    const files = index.files.filter((f) => !f.path.startsWith(manifestsDir));
    const stateDir = stateDirOf(o.root);
    await writeIntent(stateDir, { started: new Date().toISOString(), backup: dir, files: files.map((f) => ({ path: f.path, newSha256: f.sha256 })) });
    await restoreFiles(o.root, dir, { ...index, files });
    await clearIntent(stateDir);
    const backedUp = new Map(index.files.filter((f) => f.path.startsWith(manifestsDir)).map((f) => [join(o.root, f.path), f]));
    const refs = (await manifestsToRestart(o.root, s.manifests)).present.filter((m) => restarted.includes(m.file));
    const credentials = await credentialsFromKubeconfig(join(o.root, LAYOUT.kubernetesDir, "admin.conf"), o.root);
    await restartControlPlane({
      root: o.root, settings: s, manifests: refs, expectedApiserverFingerprint: oldApiserver, credentials, log: o.log,
      ...(o.checks ? { checks: o.checks } : {}), ...(o.clock ? { clock: o.clock } : {}), ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}), ...(o.progress ? { progress: o.progress } : {}),
      restartWith: async (ref) => {
        const f = backedUp.get(ref.file);
        if (!f) throw new RenewCertsError("ROLLBACK_FAILED", `the backup ${dir} has no copy of ${ref.file}`, { file: ref.file });
        await writeFileAtomic(ref.file, await readFile(join(dir, "files", f.path)), { mode: f.mode, what: "manifest" });
        return "manifest restored from the backup";
      },
    });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    await coordinator.event("CertificateRenewalRolledBack", `rollback failed: ${why}`, "Warning");
    throw new RenewCertsError("ROLLBACK_FAILED", `${failure.component} did not come back after the renewal, and the rollback failed too: ${why}. The previous files are in ${dir}: restore them with "renew-certs restore ${dir}" and check the kubelet (journalctl -u kubelet)`, { file: failure.file ?? dir });
  }
  const msg = `${failure.message}. Rolled back: every renewed file and manifest was restored from ${dir} and the control plane is healthy on the previous certificates; they still expire as before, so find the cause (journalctl -u kubelet, crictl logs) and run again`;
  await coordinator.event("CertificateRenewalRolledBack", msg, "Warning");
  throw new RenewCertsError("ROLLED_BACK", msg, failure.file ? { file: failure.file } : {});
}
