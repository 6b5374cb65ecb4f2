/** The answer of one health probe. */
export interface HealthResult {
  healthy: boolean;
  /** What was seen, for people ("serves the old certificate", "/livez answered 500"). */
  detail: string;
  /** SHA-256 fingerprint of the served certificate, when a TLS connection was made. */
  fingerprint?: string;
}

/** One health probe; it never throws (a failure is an unhealthy result). */
export type HealthCheck = () => Promise<HealthResult>;
import type { Logger } from "../log/logger.js";
import { unlessStopped } from "../util/stop.js";

/** Time as the waiting loop sees it; tests inject a fake one. */
export interface Clock {
  /** Milliseconds since an arbitrary origin. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** How far a wait has got, after each unhealthy probe. */
export interface Progress {
  elapsedMs: number;
  attempt: number;
  detail: string;
}

/** Options of waitHealthy. */
export interface WaitOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** Pause between probes, in milliseconds. Default 1000. */
  intervalMs?: number;
  onProgress?: (p: Progress) => void;
  clock?: Clock;
  /** Aborted (SIGTERM): the wait ends at once with TERMINATED, even in the middle of a probe. */
  signal?: AbortSignal;
}

/** The outcome of a wait: healthy or timed out, with the last probe's detail. */
export interface WaitResult {
  healthy: boolean;
  elapsedMs: number;
  attempts: number;
  detail: string;
  fingerprint: string | undefined;
}

/** Probes `check` every intervalMs until it is healthy or timeoutMs has passed. Throws only TERMINATED (o.signal aborted). */
export async function waitHealthy(check: HealthCheck, o: WaitOptions): Promise<WaitResult> {
  const clock = o.clock ?? realClock;
  const interval = o.intervalMs ?? 1000;
  const start = clock.now();
  for (let attempt = 1; ; attempt++) {
    const r = await unlessStopped(check().catch((e: unknown) => ({ healthy: false, detail: String(e), fingerprint: undefined })), o.signal);
    const elapsedMs = clock.now() - start;
    if (r.healthy || elapsedMs >= o.timeoutMs) return { healthy: r.healthy, elapsedMs, attempts: attempt, detail: r.detail, fingerprint: r.fingerprint };
    o.onProgress?.({ elapsedMs, attempt, detail: r.detail });
    await unlessStopped(clock.sleep(Math.min(interval, o.timeoutMs - elapsedMs)), o.signal);
  }
}

/** Options of a progress reporter. */
export interface ReporterOptions {
  component: string;
  /** stderr is a terminal: one line rewritten in place; else journal lines. */
  isTTY: boolean;
  /** Writes to the terminal (for the in-place line). */
  write: (text: string) => void;
  log: Logger;
  /** Journal mode: one line per this many milliseconds. Default 15000. */
  everyMs?: number;
}

/** Shows a wait: on a terminal the elapsed time on one line rewritten in place, in the journal a line every 15 s. */
export function progressReporter(o: ReporterOptions): { onProgress: (p: Progress) => void; done: () => void } {
  const every = o.everyMs ?? 15_000;
  let reported = 0;
  let drawn = false;
  return {
    onProgress: (p) => {
      if (o.isTTY) {
        o.write(`\r\u001b[Kwaiting for ${o.component}: ${Math.floor(p.elapsedMs / 1000)}s (${p.detail})`);
        drawn = true;
      } else if (Math.floor(p.elapsedMs / every) > reported) {
        reported = Math.floor(p.elapsedMs / every);
        o.log.info(`waiting for ${o.component} to become healthy`, { elapsed: `${Math.floor(p.elapsedMs / 1000)}s`, last: p.detail });
      }
    },
    done: () => {
      if (drawn) o.write("\r\u001b[K");
      drawn = false;
    },
  };
}
