import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";

/**
 * A renewal whose restart has not happened yet (the restart lease was not obtained). The
 * certificates on disk are new but 0 days old, so the next run would find nothing due: this
 * record tells it to restart the control plane, and which backup to roll back to.
 */
export interface PendingRestart {
  renewedAt: string;
  backup: string;
  /** The API server certificate's fingerprint before the renewal (what a rollback serves again). */
  previousApiserverFingerprint: string;
}

const file = (stateDir: string): string => join(stateDir, "pending-restart.json");

/** Records that the restart of a renewal is still to do. */
export async function writePending(stateDir: string, p: PendingRestart): Promise<void> {
  await writeFileAtomic(file(stateDir), JSON.stringify(p, null, 2) + "\n", { mode: 0o600, what: "pending restart record" });
}

/** The pending restart, if a previous run left one. */
export async function readPending(stateDir: string): Promise<PendingRestart | undefined> {
  try {
    return JSON.parse(await readFile(file(stateDir), "utf8")) as PendingRestart;
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    if (e instanceof SyntaxError) throw new RenewCertsError("IO", `${file(stateDir)} is corrupt: remove it and restart the control plane by hand (or run renew-certs run again after removing it)`, { file: file(stateDir) });
    throw fileError(e, file(stateDir), "pending restart record");
  }
}

/** Clears the record once the restart is done (or rolled back). */
export async function clearPending(stateDir: string): Promise<void> {
  await unlink(file(stateDir)).catch((e: unknown) => { if (!isErrno(e, "ENOENT")) throw fileError(e, file(stateDir), "pending restart record"); });
}
