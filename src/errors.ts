/**
 * The one error class of renew-certs. Every failure a user can meet is a RenewCertsError with a
 * stable code; the CLI maps codes to exit codes in one place (cli/exit-codes.ts).
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
  | "IO" // a write that failed (disk full, read-only file system)
  | "LOCKED" // another run holds the lock
  | "RENEW_FAILED" // renewal failed, nothing changed
  | "UNHEALTHY" // a restarted component did not become healthy (the caller restores and rolls back)
  | "ROLLED_BACK" // the control plane did not come back; the previous files were restored
  | "ROLLBACK_FAILED" // the control plane did not come back and restoring failed too
  | "LEASE_TIMEOUT" // another host kept the restart lease, or the other API servers were unhealthy
  | "DOCTOR_FAIL" // doctor found a failure
  | "LEAF_IS_CA" // a certificate kubeadm keeps as a leaf is a CA: never re-issued
  | "UNKNOWN_CRITICAL" // a leaf carries a critical extension renew-certs does not carry over
  | "CA_NOT_VALID" // a CA has expired or is not yet valid: its certificates cannot be renewed
  | "BAD_VALIDITY" // a certificate would be written with NotBefore not before NotAfter
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

/**
 * Turns a file-system error into a RenewCertsError that names the file and says what to do.
 * `what` describes the file for people ("certificate", "kubeconfig").
 */
export function fileError(e: unknown, file: string, what: string): RenewCertsError {
  if (e instanceof RenewCertsError) return e;
  if (isErrno(e)) {
    switch (e.code) {
      case "ENOENT":
        return new RenewCertsError("PEM", `${what} ${file} does not exist`, { file, cause: e });
      case "EISDIR":
        return new RenewCertsError("PEM", `${what} ${file} is a directory, but a file belongs there: move the directory away and restore the file from a backup`, { file, cause: e });
      case "EACCES":
      case "EPERM":
        return new RenewCertsError("PERMISSION", `${what} ${file} cannot be accessed (permission denied): run renew-certs as root`, { file, cause: e });
      case "EROFS":
        return new RenewCertsError("PERMISSION", `${what} ${file} is on a read-only file system: remount it read-write`, { file, cause: e });
      case "ENOSPC":
        return new RenewCertsError("IO", `cannot write ${what} ${file}: no space left on the device; free some space and run again`, { file, cause: e });
      default:
        return new RenewCertsError("IO", `${what} ${file}: ${e.message}`, { file, cause: e });
    }
  }
  return new RenewCertsError("INTERNAL", `${what} ${file}: ${String(e)}`, { file, cause: e });
}
