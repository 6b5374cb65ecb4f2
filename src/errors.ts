import { lstatSync, readlinkSync, statfsSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The one error class of renew-certs. Every failure a user can meet is a RenewCertsError with a
 * stable code; the CLI maps codes to exit codes in one table (cli/exit-codes.ts).
 */
export type ErrorCode =
  | "USAGE" // bad command line
  | "CONFIG" // bad configuration file or flag value
  | "ROOT" // --root missing or not a directory
  | "PEM" // a certificate or key file that cannot be parsed
  | "KUBECONFIG" // a kubeconfig that cannot be parsed or lacks what it needs
  | "MANIFEST" // a static pod manifest that cannot be parsed
  | "PERMISSION" // a file that cannot be read or written
  | "MISMATCH" // a key that does not match its certificate, a certificate not signed by its CA
  | "UNSUPPORTED" // something renew-certs does not handle (a key type, a format)
  | "LINK" // a symbolic link that cannot be written through: dangling, a loop, or leading outside --root
  | "BACKUP" // a backup whose index names a path renew-certs must not write (outside --root, malformed)
  | "IO" // a write that failed, or would (no space or inodes left)
  | "LOCKED" // another run holds the lock
  | "INTERRUPTED" // an interrupted run must be finished by `renew-certs run` first
  | "RENEW_FAILED" // renewal failed, nothing changed
  | "UNHEALTHY" // a restarted component did not become healthy (the caller restores and rolls back)
  | "ROLLED_BACK" // the control plane did not come back; the previous files were restored
  | "ROLLBACK_FAILED" // the control plane did not come back and restoring failed too
  | "STILL_DOWN" // a component did not come back, and the previous certificates cannot work: kept the renewed ones
  | "KUBELET_DOWN" // the kubelet does not run and nothing in the run would start it: refused before the first write
  | "LEASE_TIMEOUT" // another host kept the restart lease, or the other API servers were unhealthy
  | "DOCTOR_FAIL" // doctor found a failure
  | "LEAF_IS_CA" // a certificate kubeadm keeps as a leaf is a CA: never re-issued
  | "UNKNOWN_CRITICAL" // a leaf carries a critical extension renew-certs does not carry over
  | "CA_NOT_VALID" // a CA has expired or is not yet valid: its certificates cannot be renewed
  | "BAD_VALIDITY" // a certificate would be written with NotBefore not before NotAfter
  | "CA_NOT_RENEWABLE" // a CA that cannot be re-signed here: its key is elsewhere, or it is an intermediate
  | "KUBELET_DOWN" // the kubelet is not running: nothing could restart the control plane on renewed certificates
  | "UNTRUSTED_CA" // a CA certificate (or an API server) from the cluster that is not of the CA key this node trusts: refused
  | "NO_CLUSTER_CA" // a worker could not fetch the cluster's CA certificate while its own is within the renewal deadline
  | "CLUSTER_UNREADABLE" // status --cluster could not list the Nodes: the API server did not answer, or refused the credentials
  | "TERMINATED" // the run was stopped by SIGTERM at a wait or between two steps; the next run resumes
  | "INTERNAL";

export class RenewCertsError extends Error {
  override readonly name = "RenewCertsError";
  /** Stable machine-readable code; see cli/exit-codes.ts for the exit code of each. */
  readonly code: ErrorCode;
  /** The file the error is about, when there is one. */
  readonly file: string | undefined;

  constructor(code: ErrorCode, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
  }
}

/** True when `e` is a Node.js system error with the given errno code (ENOENT, EACCES…). */
export function isErrno(e: unknown, code?: string): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && (code === undefined || (e as NodeJS.ErrnoException).code === code);
}

/** True when this process runs as root (the messages differ: root is never "denied" by modes). */
function runsAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The text of `file` when it is a symbolic link, else undefined (never throws). */
function linkTextOf(file: string): string | undefined {
  try {
    return lstatSync(file).isSymbolicLink() ? readlinkSync(file) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Which resource ENOSPC ran out of, from statfs taken after the failure: a write that failed may
 * already have been undone (a lock directory removed, a temporary file unlinked), which gives back
 * an inode or a few blocks, so "0 free" is not required. A file system without an inode table
 * (files 0: btrfs) has no inodes to run out of. Otherwise, the scarcer of the two, as the share of
 * its total still free, is the one exhausted. Root may use the blocks reserved for it (bfree);
 * others only bavail.
 */
export function exhaustedBy(s: { blocks: number; bfree: number; bavail: number; files: number; ffree: number }, root = runsAsRoot()): "inodes" | "space" {
  if (s.files <= 0) return "space";
  if (s.ffree === 0) return "inodes";
  const freeBlocks = root ? s.bfree : s.bavail;
  if (freeBlocks === 0 || s.blocks <= 0) return "space";
  return s.ffree / s.files < freeBlocks / s.blocks ? "inodes" : "space";
}

/**
 * "no space" or "no free inodes": ENOSPC says both, so ask the file system which one ran out
 * (exhaustedBy; never throws; the nearest existing directory answers for a file not yet created).
 */
function noSpaceCause(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      const s = statfsSync(dir);
      if (exhaustedBy(s) === "inodes") return `no free inodes on the file system of ${dir} (df -i ${dir}); free some (remove files) and run again`;
      return `no space left on the device (df -h ${dir}); free some space and run again`;
    } catch {
      if (dirname(dir) === dir) return "no space left on the device; free some space and run again";
    }
  }
}

/**
 * Turns a file-system error into a RenewCertsError that names the file and says what to do.
 * `what` describes the file for people ("certificate", "kubeconfig").
 */
export function fileError(e: unknown, file: string, what: string): RenewCertsError {
  if (e instanceof RenewCertsError) return e;
  if (isErrno(e)) {
    switch (e.code) {
      case "ENOENT": {
        const link = linkTextOf(file);
        if (link !== undefined) return new RenewCertsError("LINK", `${what} ${file} is a symbolic link to ${link}, which does not exist: put that file back (is its file system mounted?) or replace the link with the file`, { file, cause: e });
        return new RenewCertsError("PEM", `${what} ${file} does not exist`, { file, cause: e });
      }
      case "ELOOP":
        return new RenewCertsError("LINK", `${what} ${file} is a loop of symbolic links: replace it with the file, or a link to the file`, { file, cause: e });
      case "EISDIR":
        return new RenewCertsError("PEM", `${what} ${file} is a directory, but a file belongs there: move the directory away and restore the file from a backup`, { file, cause: e });
      case "EACCES":
      case "EPERM":
        // Root is refused only by attributes, mounts or a security module, never by a file's mode.
        if (runsAsRoot()) return new RenewCertsError("PERMISSION", `${what} ${file}: ${e.code === "EPERM" ? "operation not permitted" : "permission denied"}, even to root: look for an immutable or append-only attribute (lsattr -d ${file}; chattr -i or -a), a security module's denial (SELinux, AppArmor) or a network file system that maps root to nobody`, { file, cause: e });
        return new RenewCertsError("PERMISSION", `${what} ${file} cannot be accessed (permission denied): run renew-certs as root`, { file, cause: e });
      case "EROFS":
        return new RenewCertsError("PERMISSION", `${what} ${file} is on a read-only file system: remount it read-write`, { file, cause: e });
      case "ENOSPC":
        return new RenewCertsError("IO", `cannot write ${what} ${file}: ${noSpaceCause(file)}`, { file, cause: e });
      default:
        return new RenewCertsError("IO", `${what} ${file}: ${e.message}`, { file, cause: e });
    }
  }
  return new RenewCertsError("INTERNAL", `${what} ${file}: ${String(e)}`, { file, cause: e });
}
