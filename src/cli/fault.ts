// Fault injection for the crash-safety tests: RENEW_CERTS_TEST_KILL_AFTER_STEP=N kills the process
// with SIGKILL right after the Nth durable write step, as a power cut would. Unset in production.
import type { AtomicWriteOptions } from "../util/atomic.js";

/** A step hook that kills the process after step N, when the test variable asks for it. */
export function faultHook(env: Record<string, string | undefined>): AtomicWriteOptions["onStep"] | undefined {
  const n = Number(env["RENEW_CERTS_TEST_KILL_AFTER_STEP"]);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  let steps = 0;
  return () => {
    if (++steps === n) process.kill(process.pid, "SIGKILL");
  };
}
