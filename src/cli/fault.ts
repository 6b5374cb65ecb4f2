// Test hooks for the crash-safety tests, read from the environment; unset in production:
// - RENEW_CERTS_TEST_KILL_AFTER_STEP=N kills the process with SIGKILL right after the Nth durable
//   step (a file write's temporary file, rename or directory fsync; a state transition; the start
//   of a wait), as a power cut or an OOM kill would; "STEP WHAT#K" kills it right after the Kth
//   step named so ("renamed state:restored#1", "temp-written /root/etc/kubernetes/admin.conf#2"):
//   a step found by its name stays the same step when a run takes another step more elsewhere;
// - RENEW_CERTS_TEST_STEP_LOG=FILE appends "N STEP WHAT" for every step (the crash table's rows);
// - RENEW_CERTS_TEST_PROBE_INTERVAL_MS=MS probes restarted components that often instead of once a second.
import { appendFileSync } from "node:fs";
import type { AtomicWriteOptions } from "../util/atomic.js";

/** Where to kill: after the Nth step of all, or after the Kth step of one name ("renamed state:restored"). */
export type KillPoint = { n: number } | { name: string; occurrence: number };

/** The kill point of RENEW_CERTS_TEST_KILL_AFTER_STEP ("N" or "STEP WHAT#K"), or undefined. */
export function killPointOf(value: string | undefined): KillPoint | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) > 0 ? { n: Number(value) } : undefined;
  const m = /^(.+?)(?:#(\d+))?$/.exec(value)!;
  return { name: m[1]!, occurrence: Number(m[2] ?? "1") };
}

/** A step hook that logs steps and kills the process at the kill point, when the test variables ask for it. */
export function faultHook(env: Record<string, string | undefined>): AtomicWriteOptions["onStep"] | undefined {
  const at = killPointOf(env["RENEW_CERTS_TEST_KILL_AFTER_STEP"]);
  const log = env["RENEW_CERTS_TEST_STEP_LOG"];
  if (!at && !log) return undefined;
  let steps = 0;
  const seen = new Map<string, number>();
  return (step, file) => {
    steps++;
    const name = `${step} ${file}`;
    seen.set(name, (seen.get(name) ?? 0) + 1);
    if (log) appendFileSync(log, `${steps} ${name}\n`);
    if (at && ("n" in at ? steps === at.n : name === at.name && seen.get(name) === at.occurrence)) process.kill(process.pid, "SIGKILL");
  };
}

/** The probe interval the tests ask for (undefined: the default, 1 s). */
export function probeInterval(env: Record<string, string | undefined>): number | undefined {
  const ms = Number(env["RENEW_CERTS_TEST_PROBE_INTERVAL_MS"]);
  return Number.isInteger(ms) && ms > 0 ? ms : undefined;
}
