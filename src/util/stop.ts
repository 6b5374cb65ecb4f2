// Stopping a run cleanly. The CLI owns the process: on SIGTERM it aborts an AbortSignal, and the
// job notices it only where stopping leaves every file as it is, so that no state is ever written
// that is not true and no write is cut in half:
//   - at a wait (a component coming back, the lock, the restart Lease), which ends at once;
//   - before a step that starts an effect (a renewal, a component's restart).
// A write in flight is never interrupted: it finishes, and the stop is noticed after it. The error
// is TERMINATED (exit 17); the job turns it into the message that says where it stopped.
import { RenewCertsError } from "../errors.js";

/** The error of a stopped run: "stopped by SIGTERM" (the signal's reason names the signal). */
export function stoppedError(signal: AbortSignal): RenewCertsError {
  const by = typeof signal.reason === "string" ? signal.reason : "SIGTERM";
  return new RenewCertsError("TERMINATED", `stopped by ${by}`);
}

/** True when `e` is the error of a stopped run. */
export function isStopped(e: unknown): e is RenewCertsError {
  return e instanceof RenewCertsError && e.code === "TERMINATED";
}

/** Throws TERMINATED when `signal` was aborted: called before a step that starts an effect. */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw stoppedError(signal);
}

/**
 * `work`, or TERMINATED as soon as `signal` is aborted. Only for work that writes nothing (a wait,
 * a probe): it goes on unobserved, and its result is dropped.
 */
export function unlessStopped<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(stoppedError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      work.catch(() => undefined);
      reject(stoppedError(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => { signal.removeEventListener("abort", onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener("abort", onAbort); reject(e); },
    );
  });
}
