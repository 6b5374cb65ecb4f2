import { readFile, unlink, mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";
import { writeFileAtomic, fsyncDir, removeStrayTempsOf } from "../util/atomic.js";
import { openBackup, restoreFiles, sha256 } from "./backup.js";

/**
 * The intent record: written (durably) after the backup and before the first write of a
 * renewal, removed after the last. If a run dies in between, the next one finds it and either
 * completes (every file already holds its new bytes) or restores the backup: never a mix.
 */
export interface Intent {
  started: string;
  backup: string;
  /** Every file the run writes: path relative to root, and the sha256 of its new bytes. */
  files: { path: string; newSha256: string }[];
}

/** The outcome of recovering from an interrupted run. */
export type Recovery = { action: "none" } | { action: "completed"; backup: string } | { action: "restored"; backup: string; files: string[] };

/** Where the intent record lives under a root. */
export function intentFile(stateDir: string): string {
  return join(stateDir, "intent.json");
}

/** Writes the intent record durably. */
export async function writeIntent(stateDir: string, intent: Intent, onStep?: (step: "temp-written" | "renamed" | "dir-synced", file: string) => void): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 }).catch((e: unknown) => { throw fileError(e, stateDir, "state directory"); });
  await writeFileAtomic(intentFile(stateDir), JSON.stringify(intent, null, 2) + "\n", { mode: 0o600, what: "intent record", ...(onStep ? { onStep } : {}) });
}

/** Removes the intent record durably (the run is complete). */
export async function clearIntent(stateDir: string): Promise<void> {
  await unlink(intentFile(stateDir)).catch((e: unknown) => { if (!isErrno(e, "ENOENT")) throw fileError(e, intentFile(stateDir), "intent record"); });
  await fsyncDir(stateDir).catch(() => undefined);
}

/** Reads the intent record, if an interrupted run left one. */
export async function readIntent(stateDir: string): Promise<Intent | undefined> {
  const file = intentFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw fileError(e, file, "intent record");
  }
  try {
    return JSON.parse(text) as Intent;
  } catch (cause) {
    throw new RenewCertsError("IO", `intent record ${file} is corrupt: restore the newest backup with "renew-certs restore latest", then remove ${file}`, { file, cause });
  }
}

async function holds(file: string, hash: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    return sha256(await readFile(file)) === hash;
  } catch {
    return false;
  }
}

/**
 * Finishes what an interrupted run left: nothing to do, "completed" when every file already
 * holds its new bytes, else "restored" from the run's backup. Call with the lock held.
 */
export async function recoverInterrupted(root: string, stateDir: string): Promise<Recovery> {
  const intent = await readIntent(stateDir);
  if (!intent) return { action: "none" };
  // A write killed before its rename leaves a dot-file temporary: never part of either set.
  await removeStrayTempsOf(intent.files.map((f) => join(root, f.path)));
  const results = await Promise.all(intent.files.map((f) => holds(join(root, f.path), f.newSha256)));
  if (results.every(Boolean)) {
    await clearIntent(stateDir);
    return { action: "completed", backup: intent.backup };
  }
  const { dir, index } = await openBackup(dirname(intent.backup), intent.backup);
  const files = await restoreFiles(root, dir, index);
  await clearIntent(stateDir);
  return { action: "restored", backup: intent.backup, files };
}
