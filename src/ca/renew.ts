// `renew-certs ca renew`: re-signs certificate authorities with their own keys now, whatever their
// due date, and puts each new certificate in every trust location on this host's disk, with the
// renewal's backup, intent record, lock and atomic writes (renewal/apply.ts). It restarts nothing:
// what must restart, and by when, is in the result (trust-locations.ts).
import { join } from "node:path";
import { scanInventory } from "../inventory/scan.js";
import { CAS, LAYOUT, type CaName } from "../inventory/catalog.js";
import type { Logger } from "../log/logger.js";
import type { AtomicWriteOptions } from "../util/atomic.js";
import { lockAndRecover, stateDirOf } from "../renewal/renew.js";
import { applyWrites } from "../renewal/apply.js";
import type { Lock } from "../renewal/lock.js";
import type { Recovery } from "../renewal/intent.js";
import { RenewCertsError } from "../errors.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { planCaRenewal, type CaPlan } from "./plan.js";

/** The names `ca renew` accepts. */
export const CA_NAMES: readonly CaName[] = CAS.map((c) => c.name);

/** Options of a CA renewal. */
export interface CaRenewOptions {
  root: string;
  /** "all" or CA names. */
  names: readonly string[];
  dryRun?: boolean;
  /** Validity of the re-signed certificates, in days (default 3650, kubeadm's). */
  validityDays?: number;
  /** Where backups go (default <root>/var/lib/renew-certs/backups). */
  backupDir?: string;
  backupsKept?: number;
  lockTimeoutMs?: number;
  log: Logger;
  /** The clock (default now); one start time per run. */
  now?: () => Date;
  /** Called after every durable write step: fault injection in tests. */
  onStep?: AtomicWriteOptions["onStep"];
}

/** What a CA renewal did (or would do). */
export interface CaRenewResult {
  start: Date;
  dryRun: boolean;
  recovery: Recovery;
  plans: CaPlan[];
  backup: string | undefined;
}

/** Checks the names: "all" alone, or CA names. */
export function checkCaNames(names: readonly string[]): void {
  if (names.length === 0) throw new RenewCertsError("USAGE", `say which CA to renew: all, or any of ${CA_NAMES.join(", ")}`);
  if (names.includes("all") && names.length > 1) throw new RenewCertsError("USAGE", "all takes no other names");
  const unknown = names.filter((n) => n !== "all" && !CA_NAMES.includes(n as CaName));
  if (unknown.length > 0) throw new RenewCertsError("USAGE", `unknown CA ${unknown.join(", ")}: choose all or any of ${CA_NAMES.join(", ")}`);
}

/**
 * Re-signs the named CAs (all: every CA on this host; etcd-ca is absent with external etcd) and
 * writes every trust location that holds their keys, all-or-nothing. Every CA is planned, and
 * every refusal thrown, before the first write.
 */
export async function renewCas(o: CaRenewOptions): Promise<CaRenewResult> {
  checkCaNames(o.names);
  const dryRun = o.dryRun ?? false;
  let lock: Lock | undefined;
  let recovery: Recovery = { action: "none" };
  if (!dryRun) ({ lock, recovery } = await lockAndRecover(o.root, o.log, o.lockTimeoutMs));
  try {
    if (recovery.action !== "restored" && recovery.record) {
      const where = join(stateDirOf(o.root), "job.json");
      throw new RenewCertsError("INTERRUPTED", `an interrupted renew-certs run (phase ${recovery.record.phase}, recorded in ${where}) has renewed ` +
        "certificates that the control plane has not loaded yet: finish it with \"renew-certs run\" first");
    }
    const start = (o.now ?? (() => new Date()))();
    const inv = await scanInventory(o.root);
    const all = o.names[0] === "all";
    const names = all ? inv.cas.map((c) => c.spec.name) : (o.names as CaName[]);
    const plans: CaPlan[] = [];
    for (const ca of names) plans.push(await planCaRenewal({ inv, ca, now: start, validityDays: o.validityDays ?? DEFAULT_SETTINGS.caValidityDays, log: o.log }));
    const result: CaRenewResult = { start, dryRun, recovery, plans, backup: undefined };
    if (dryRun) return result;
    result.backup = await applyWrites({
      root: o.root, stateDir: stateDirOf(o.root), backupDir: o.backupDir ?? join(o.root, LAYOUT.backupDir), backupsKept: o.backupsKept ?? 10,
      writes: plans.flatMap((p) => p.writes), start, reason: `ca renew ${o.names.join(" ")}`, log: o.log, ...(o.onStep ? { onStep: o.onStep } : {}),
    });
    for (const p of plans) {
      const fields = { serial: p.made.x509.serialNumber, notAfter: p.made.notAfter.toISOString(), deadline: p.record.deadline };
      o.log.info(`re-signed ${p.ca} with its own key`, fields);
    }
    return result;
  } finally {
    await lock?.release();
  }
}
