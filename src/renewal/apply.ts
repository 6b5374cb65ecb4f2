import { relative } from "node:path";
import { writeFilesAtomic, removeStrayTempsOf, type AtomicWriteOptions } from "../util/atomic.js";
import { createBackup, openBackup, restoreFiles, sha256 } from "./backup.js";
import { clearRecord, writeRecord, type JobRecord } from "./intent.js";
import { preflight } from "./preflight.js";
import type { FileWrite } from "./plan.js";
import { fileError, RenewCertsError } from "../errors.js";
import type { Logger } from "../log/logger.js";

/** What applying a set of writes needs. */
export interface ApplyOptions {
  root: string;
  stateDir: string;
  backupDir: string;
  backupsKept: number;
  /** The writes, in the order they are renamed into place. */
  writes: readonly FileWrite[];
  /** Files backed up besides the writes (the static pod manifests, for a run's rollback). */
  alsoBackUp?: readonly string[];
  /** The run's start: names the backup. */
  start: Date;
  /** Why the backup was taken ("renew all", "ca renew ca"). */
  reason: string;
  /** The record that replaces the intent once every file is written, made from the backup's name (default: none). */
  then?: (backup: string) => JobRecord;
  onStep?: AtomicWriteOptions["onStep"];
  log: Logger;
}

/**
 * Writes a renewal's files all-or-nothing, as every renewal does (leaves and CAs): preflight,
 * a backup, an intent record naming every file's new bytes, then atomic writes in order. A failure
 * puts the backed-up files back at once; a crash leaves the record, and the next run completes or
 * restores (intent.ts). Returns the backup's directory.
 */
export async function applyWrites(o: ApplyOptions): Promise<string> {
  const changing = o.writes.map((w) => w.path);
  const backedUp = [...changing, ...(o.alsoBackUp ?? [])];
  preflight({ root: o.root, writes: o.writes, backupFiles: backedUp, backupDir: o.backupDir, stateDir: o.stateDir });
  const backup = await createBackup(o.root, o.backupDir, backedUp, o.start, o.reason, { keep: o.backupsKept });
  o.log.info("backup written", { backup, files: changing.length });
  const then = o.then?.(backup);
  const files = o.writes.map((w) => ({ path: relative(o.root, w.path), newSha256: sha256(w.content) }));
  const intent = { phase: "renewing" as const, job: then ? "run" as const : "renew" as const, started: o.start.toISOString(), backup, files };
  await writeRecord(o.stateDir, { ...intent, ...(then ? { then } : {}) }, o.onStep);
  try {
    const atomic = o.writes.map((w) => ({ file: w.path, content: w.content, options: { ...(w.mode !== undefined ? { mode: w.mode } : {}), what: w.what } }));
    await writeFilesAtomic(atomic, o.onStep);
  } catch (e) {
    // Never leave a mix: put the old files back now; if even that fails, the intent record
    // stays and the next run restores them. Either way one error says it all (the CLI prints it).
    const failure = e instanceof RenewCertsError ? e : fileError(e, o.root, "control plane");
    let outcome: string;
    let restored = false;
    try {
      const { dir, index } = await openBackup(o.backupDir, backup);
      await restoreFiles(o.root, dir, index);
      await clearRecord(o.stateDir);
      outcome = `nothing was changed: the files written so far were restored from ${backup}`;
      restored = true;
    } catch (restoreError) {
      outcome = `the previous files could not be restored yet (${(restoreError as Error).message}): the next renew-certs run restores them from ${backup}`;
    }
    const options = { ...(failure.file ? { file: failure.file } : {}), cause: e };
    throw new RenewCertsError(restored ? failure.code : "ROLLBACK_FAILED", `${failure.message}; ${outcome}`, options);
  }
  // One rename: the renewal's record becomes what is left to do (a run's restarts), or goes.
  if (then) await writeRecord(o.stateDir, then, o.onStep);
  else await clearRecord(o.stateDir);
  await removeStrayTempsOf(changing);
  return backup;
}
