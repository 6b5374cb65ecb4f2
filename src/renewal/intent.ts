import { readFile, unlink, mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";
import { writeFileAtomic, fsyncDir, removeStrayTempsOf } from "../util/atomic.js";
import { openBackup, restoreFiles, sha256 } from "./backup.js";

/*
 * The job record: one file (<state>/job.json) that says what an unfinished job was doing, written
 * atomically BEFORE each effect, so that a run killed at any point is finished by the next.
 * A renewal writes it in the phase "renewing" (this module) after the backup and before the first
 * write; when every file holds its new bytes the record is replaced, in one rename, by the one the
 * caller asked for (`then`: a run's "renewed" record, src/run/state.ts), or removed (`renew`).
 */

/** A renewal in progress: never a mix of old and new files once recovered. */
export interface Intent {
  phase: "renewing";
  /** "renew" (the command) or "run" (the scheduled job, which restarts afterwards). */
  job: "renew" | "run";
  started: string;
  backup: string;
  /** Every file the run writes: path relative to root, and the sha256 of its new bytes. */
  files: { path: string; newSha256: string }[];
  /** The record that replaces this one once every file is written (default: none). */
  then?: JobRecord;
}

/** Any job record: a renewal's, or a later phase of a run's (src/run/state.ts). */
export type JobRecord = Intent | { phase: string; job: string };

/** The outcome of recovering from an interrupted renewal; `record` is what is left for the caller. */
export type Recovery =
  | { action: "none"; record?: JobRecord }
  | { action: "completed"; backup: string; record?: JobRecord }
  | { action: "restored"; backup: string; files: string[] };

/** Where the job record lives under a state directory. */
export function recordFile(stateDir: string): string {
  return join(stateDir, "job.json");
}

/** Writes the job record durably (temporary file, fsync, rename, directory fsync). */
export async function writeRecord(stateDir: string, record: JobRecord, onStep?: (step: "temp-written" | "renamed" | "dir-synced", file: string) => void): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 }).catch((e: unknown) => { throw fileError(e, stateDir, "state directory"); });
  await writeFileAtomic(recordFile(stateDir), JSON.stringify(record, null, 2) + "\n", { mode: 0o600, what: "job record", ...(onStep ? { onStep } : {}) });
}

/** Removes the job record durably (the job is complete). */
export async function clearRecord(stateDir: string): Promise<void> {
  await unlink(recordFile(stateDir)).catch((e: unknown) => { if (!isErrno(e, "ENOENT")) throw fileError(e, recordFile(stateDir), "job record"); });
  await fsyncDir(stateDir).catch(() => undefined);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw fileError(e, file, "job record");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new RenewCertsError("IO", `job record ${file} is corrupt: restore the newest backup with "renew-certs restore latest", then remove ${file}`, { file, cause });
  }
}

/**
 * The job record an interrupted job left, if any. Records of older versions are read too:
 * intent.json (a renewal) and pending-restart.json (a run whose restart was not done).
 */
export async function readRecord(stateDir: string): Promise<JobRecord | undefined> {
  const current = await readJson(recordFile(stateDir));
  if (current !== undefined) return current as JobRecord;
  const legacy = await readJson(join(stateDir, "intent.json")) as Omit<Intent, "phase" | "job"> | undefined;
  const pending = await readJson(join(stateDir, "pending-restart.json")) as { renewedAt: string; backup: string; previousApiserverFingerprint: string } | undefined;
  const record: JobRecord | undefined = legacy
    ? { ...legacy, phase: "renewing", job: "renew" }
    : pending ? { phase: "renewed", job: "run", legacy: true, started: pending.renewedAt, backup: pending.backup, previousApiserver: pending.previousApiserverFingerprint } as JobRecord : undefined;
  if (!record) return undefined;
  await writeRecord(stateDir, record);
  for (const f of ["intent.json", "pending-restart.json"]) await unlink(join(stateDir, f)).catch(() => undefined);
  return record;
}

async function holds(file: string, hash: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    return sha256(await readFile(file)) === hash;
  } catch {
    return false;
  }
}

/** True when every file of a renewal holds its new bytes. */
export async function allWritten(root: string, intent: Pick<Intent, "files">): Promise<boolean> {
  return (await Promise.all(intent.files.map((f) => holds(join(root, f.path), f.newSha256)))).every(Boolean);
}

/** Puts a renewal's files back from its backup (every file as it was) and removes the record. */
export async function rollBackRenewal(root: string, stateDir: string, intent: Intent): Promise<string[]> {
  const { dir, index } = await openBackup(dirname(intent.backup), intent.backup);
  const files = await restoreFiles(root, dir, index);
  await clearRecord(stateDir);
  return files;
}

/**
 * Finishes what an interrupted renewal left: nothing to do, "completed" when every file already
 * holds its new bytes (the record becomes its `then`), else "restored" from the renewal's backup.
 * A record of a later phase is returned untouched for the caller. Call with the lock held.
 */
export async function recoverInterrupted(root: string, stateDir: string): Promise<Recovery> {
  await removeStrayTempsOf([recordFile(stateDir)]); // a record write killed before its rename
  const record = await readRecord(stateDir);
  if (!record) return { action: "none" };
  if (record.phase !== "renewing") return { action: "none", record };
  const intent = record as Intent;
  // A write killed before its rename leaves a dot-file temporary: never part of either set.
  await removeStrayTempsOf(intent.files.map((f) => join(root, f.path)));
  if (await allWritten(root, intent)) {
    if (intent.then) await writeRecord(stateDir, intent.then);
    else await clearRecord(stateDir);
    return { action: "completed", backup: intent.backup, ...(intent.then ? { record: intent.then } : {}) };
  }
  return { action: "restored", backup: intent.backup, files: await rollBackRenewal(root, stateDir, intent) };
}
