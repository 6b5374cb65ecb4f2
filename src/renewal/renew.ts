import { join } from "node:path";
import { readdir } from "node:fs/promises";
import { checkControlPlane, scanInventory, type Inventory } from "../inventory/scan.js";
import { LAYOUT, type CaName } from "../inventory/catalog.js";
import { generateKey, keySpecOf } from "../pki/keys.js";
import type { Logger } from "../log/logger.js";
import { removeStrayTemps, type AtomicWriteOptions } from "../util/atomic.js";
import { loadCa, loadLeaf, type LoadedCa } from "./material.js";
import type { Certificate } from "../pki/pem.js";
import { capWarning, reissue, type Reissued } from "./reissue.js";
import { checkNames, selectLeaves, writesFor, type FileWrite, type Skipped } from "./plan.js";
import { acquireLock, type Lock } from "./lock.js";
import { recoverInterrupted, type JobRecord, type Recovery } from "./intent.js";
import { applyWrites } from "./apply.js";
import { refuseDanglingLinks } from "./preflight.js";
import { RenewCertsError } from "../errors.js";

/** Options of a renewal. */
export interface RenewOptions {
  root: string;
  /** ["all"] or certificate names. */
  names: readonly string[];
  dryRun?: boolean;
  /** Validity of the new certificates in days (default 365). */
  validityDays?: number;
  /** Where backups go (default <root>/var/lib/renew-certs/backups). */
  backupDir?: string;
  /** Backups kept (default 10). */
  backupsKept?: number;
  /** How long to wait for another run's lock (default 60 s). */
  lockTimeoutMs?: number;
  log: Logger;
  /** The clock: one start time is taken per run (default now). */
  now?: () => Date;
  /** Skip locking: the caller (run) already holds the lock. */
  lockHeld?: boolean;
  /** Called after every durable write step: fault injection in tests. */
  onStep?: AtomicWriteOptions["onStep"];
  /**
   * The job record that replaces the renewal's once every file is written (a run's "renewed"
   * record): one rename, so that no crash can lose what is left to do. Default: none.
   */
  then?: (done: { backup: string; renewed: RenewedCertificate[] }) => JobRecord;
  /**
   * CAs re-signed with their own keys in the same renewal (a run's, src/ca/run-step.ts): each new
   * certificate signs the leaves of its CA, and the CA's writes join the same backup and intent.
   * With resigned CAs, `names` may be empty: the CAs alone are renewed.
   */
  resigned?: readonly ResignedCa[];
}

/** A CA re-signed in memory, and every write that puts it in its trust locations (the CA's record last). */
export interface ResignedCa {
  ca: CaName;
  cert: Certificate;
  pem: string;
  writes: readonly FileWrite[];
}

/**
 * One set of writes: the CAs' files first, then the leaves', then the CAs' records, so that a
 * record exists only once every file holds its certificate. A file both write (a kubeconfig with a
 * renewed client certificate) takes the leaf's write, which carries the new CA data too.
 */
function mergeWrites(resigned: readonly ResignedCa[], leaves: FileWrite[]): FileWrite[] {
  const byLeaf = new Set(leaves.map((w) => w.path));
  const caWrites = resigned.flatMap((r) => r.writes).filter((w) => !byLeaf.has(w.path));
  const isRecord = (w: FileWrite): boolean => w.what === "CA renewal record";
  return [...caWrites.filter((w) => !isRecord(w)), ...leaves, ...caWrites.filter(isRecord)];
}

/** One renewed certificate, for reports. */
export interface RenewedCertificate {
  name: string;
  files: string[];
  serial: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
  cappedAtCaDaysLeft: number | undefined;
}

/** What a renewal did (or, with dryRun, would do). */
export interface RenewResult {
  start: Date;
  dryRun: boolean;
  recovery: Recovery;
  renewed: RenewedCertificate[];
  skipped: Skipped[];
  writes: { path: string; what: string }[];
  backup: string | undefined;
  /** The inventory read before the renewal (the old certificates). */
  before: Inventory;
}

/** The state directory under a root (lock, intent record). */
export function stateDirOf(root: string): string {
  return join(root, LAYOUT.stateDir);
}

async function manifestFiles(root: string): Promise<string[]> {
  const dir = join(root, LAYOUT.manifestsDir);
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith(".")).map((n) => join(dir, n));
}

/**
 * Takes the run lock and finishes what an interrupted renewal left. A later phase of an
 * interrupted run is left in `recovery.record` for `run` to resume. `signal` aborted (SIGTERM)
 * ends the wait for the lock at once (TERMINATED).
 */
export async function lockAndRecover(root: string, log: Logger, lockTimeoutMs = 60_000, signal?: AbortSignal): Promise<{ lock: Lock; recovery: Recovery }> {
  await checkControlPlane(root); // never create the state directory under a wrong --root
  const stateDir = stateDirOf(root);
  const lock = await acquireLock(join(stateDir, "lock"), lockTimeoutMs, undefined, signal);
  try {
    const recovery = await recoverInterrupted(root, stateDir);
    // A write killed before its rename (a renewal's, a rollback's, a manifest's) leaves a dot-file
    // temporary: with the lock held nobody is writing one, so every such file is a leftover. The
    // kubelet's directory too: a run re-issues its client certificate there (a leftover holds a key).
    for (const dir of [LAYOUT.kubernetesDir, LAYOUT.pkiDir, `${LAYOUT.pkiDir}/etcd`, LAYOUT.manifestsDir, LAYOUT.stateDir, "var/lib/kubelet/pki"]) {
      await removeStrayTemps(join(root, dir));
    }
    if (recovery.action === "completed") log.warn("an interrupted renewal had written every file: completed it", { backup: recovery.backup });
    if (recovery.action === "restored") log.warn("an interrupted renewal was rolled back: restored the previous files from its backup", { backup: recovery.backup, files: recovery.files.length });
    return { lock, recovery };
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/**
 * Renews certificates natively, as kubeadm does: every new certificate is made and checked in
 * memory first; then a backup, an intent record, and atomic writes (key before certificate).
 */
export async function renewCertificates(o: RenewOptions): Promise<RenewResult> {
  const log = o.log;
  const dryRun = o.dryRun ?? false;
  const resigned = o.resigned ?? [];
  const casOnly = o.names.length === 0 && resigned.length > 0;
  if (!casOnly) checkNames(o.names);
  let lock: Lock | undefined;
  let recovery: Recovery = { action: "none" };
  if (!dryRun && !o.lockHeld) ({ lock, recovery } = await lockAndRecover(o.root, log, o.lockTimeoutMs));
  try {
    if (recovery.action !== "restored" && recovery.record) {
      throw new RenewCertsError("INTERRUPTED", `an interrupted renew-certs run (phase ${recovery.record.phase}, recorded in ${join(stateDirOf(o.root), "job.json")}) has renewed certificates that the control plane has not loaded yet: finish it with "renew-certs run", which resumes where it stopped`);
    }
    const start = (o.now ?? (() => new Date()))();
    const validityDays = o.validityDays ?? 365;
    const before = await scanInventory(o.root);
    const { selected, skipped } = casOnly ? { selected: [], skipped: [] } : selectLeaves(before, o.names);
    refuseDanglingLinks(before, skipped);
    for (const s of skipped) log[s.level](s.reason, { certificate: s.name });

    // Key generation is the whole cost: start every key now, on the thread pool, while the main
    // thread loads and checks the old material; each certificate is signed as soon as its key is ready.
    const early = selected.map((l) => {
      try {
        const p = generateKey(keySpecOf(l.cert!.x509.publicKey, l.certFile));
        p.catch(() => undefined); // a run that stops on bad input below must not leave a rejection behind
        return p;
      } catch {
        return undefined; // unsupported key type: loadLeaf below says so
      }
    });
    // Load and check everything first: any bad input stops the run before a single write.
    const cas = new Map<CaName, LoadedCa>();
    for (const l of selected) {
      if (cas.has(l.spec.ca)) continue;
      const ca = await loadCa(l.ca);
      const made = resigned.find((r) => r.ca === l.spec.ca);
      // Same key and subject: the leaves are signed as before, and chain to (and end by) the new certificate.
      cas.set(l.spec.ca, made ? { ...ca, cert: made.cert, pem: made.pem } : ca);
    }
    const loaded = [];
    for (const l of selected) loaded.push(await loadLeaf(l, cas.get(l.spec.ca)!));
    const reissued: Reissued[] = await Promise.all(loaded.map(async (l, i) => reissue(l, start, validityDays, await (early[i] ?? generateKey(l.spec)))));
    for (const r of reissued) {
      const capped = capWarning(r);
      if (capped) log.warn(capped, { notAfter: r.notAfter.toISOString() });
    }
    const writesEach = await Promise.all(reissued.map(writesFor));
    const writes: FileWrite[] = mergeWrites(resigned, writesEach.flat());
    for (const w of writes) if (w.note) log.warn(w.note);
    const renewed: RenewedCertificate[] = reissued.map((r, i) => ({
      name: r.loaded.leaf.spec.name,
      files: writesEach[i]!.map((w) => w.path),
      serial: r.cert.serialNumber,
      notBefore: r.notBefore.toISOString(),
      notAfter: r.notAfter.toISOString(),
      fingerprint256: r.cert.fingerprint256,
      cappedAtCaDaysLeft: r.cappedAtCaDaysLeft,
    }));
    const result: RenewResult = { start, dryRun, recovery, renewed, skipped, writes: writes.map((w) => ({ path: w.path, what: w.what })), backup: undefined, before };
    if (dryRun || writes.length === 0) return result;

    const backupDir = o.backupDir ?? join(o.root, LAYOUT.backupDir);
    result.backup = await applyWrites({
      root: o.root, stateDir: stateDirOf(o.root), backupDir, backupsKept: o.backupsKept ?? 10, writes, alsoBackUp: await manifestFiles(o.root),
      start, reason: `renew ${[...resigned.map((r) => `CA ${r.ca}`), ...o.names].join(" ")}`, log, ...(o.onStep ? { onStep: o.onStep } : {}),
      ...(o.then ? { then: (backup: string) => o.then!({ backup, renewed }) } : {}),
    });
    for (const r of renewed) log.info(`renewed ${r.name}`, { notAfter: r.notAfter, serial: r.serial });
    return result;
  } finally {
    await lock?.release();
  }
}
