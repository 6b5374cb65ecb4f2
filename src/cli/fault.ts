// Test hooks for the crash-safety tests, read from the environment; unset in production:
// - RENEW_CERTS_TEST_KILL_AFTER_STEP=N kills the process with SIGKILL right after the Nth durable
//   step (a file write's temporary file, rename or directory fsync; a state transition; the start
//   of a wait), as a power cut or an OOM kill would;
// - RENEW_CERTS_TEST_STEP_LOG=FILE appends "N STEP WHAT" for every step (the crash table's rows);
// - RENEW_CERTS_TEST_PROBE_INTERVAL_MS=MS probes restarted components that often instead of once a second.
import { appendFileSync } from "node:fs";
import type { AtomicWriteOptions } from "../util/atomic.js";

/** A step hook that logs steps and kills the process after step N, when the test variables ask for it. */
export function faultHook(env: Record<string, string | undefined>): AtomicWriteOptions["onStep"] | undefined {
  const n = Number(env["RENEW_CERTS_TEST_KILL_AFTER_STEP"]);
  const log = env["RENEW_CERTS_TEST_STEP_LOG"];
  const kill = Number.isInteger(n) && n > 0;
  if (!kill && !log) return undefined;
  let steps = 0;
  return (step, file) => {
    steps++;
    if (log) appendFileSync(log, `${steps} ${step} ${file}\n`);
    if (kill && steps === n) process.kill(process.pid, "SIGKILL");
  };
}

/** The probe interval the tests ask for (undefined: the default, 1 s). */
export function probeInterval(env: Record<string, string | undefined>): number | undefined {
  const ms = Number(env["RENEW_CERTS_TEST_PROBE_INTERVAL_MS"]);
  return Number.isInteger(ms) && ms > 0 ? ms : undefined;
}
