// Watches an API server's availability the way a client meets it: GET /livez on a fresh connection
// (no client certificate: /livez is public, on the real one as on the double), again and again, and
// the windows in which it did not answer "ok". For the tests and the benchmark of restart modes.
import type { Endpoint } from "../manifests/manifest.js";
import { httpsGet } from "../kube/tls.js";

/** What a watch saw. */
export interface Availability {
  /** Probes answered "ok", and the others. */
  ok: number;
  failed: number;
  /** Windows of consecutive failures. */
  outages: number;
  /** The longest window in which /livez did not answer "ok", in milliseconds (from the first failed probe's start to the next good answer). */
  longestOutageMs: number;
  /** The first failure seen, for the message of a test. */
  firstFailure: string | undefined;
}

/**
 * How long an answer may take: an API server that is down refuses the connection at once, so only
 * a slow machine makes an answer late, and a late answer is no outage.
 */
const ANSWER_MS = 10_000;

/** Starts probing `endpoint`'s /livez every `intervalMs` (default 10); `stop()` ends the watch and says what it saw. */
export function watchLivez(endpoint: Endpoint, intervalMs = 10): { stop(): Promise<Availability> } {
  const seen: Availability = { ok: 0, failed: 0, outages: 0, longestOutageMs: 0, firstFailure: undefined };
  let stopped = false;
  let downSince: number | undefined;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const r = await httpsGet({ endpoint, path: "/livez", verify: false, timeoutMs: ANSWER_MS }).then((x) => (x.status === 200 && x.body.trim() === "ok" ? undefined : `${x.status} ${x.body.trim().slice(0, 80)}`), (e: unknown) => (e as Error).message);
      if (r === undefined) {
        seen.ok++;
        if (downSince !== undefined) seen.longestOutageMs = Math.max(seen.longestOutageMs, performance.now() - downSince);
        downSince = undefined;
      } else {
        seen.failed++;
        seen.firstFailure ??= r;
        if (downSince === undefined) { downSince = t0; seen.outages++; }
      }
      await new Promise((res) => setTimeout(res, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      if (downSince !== undefined) seen.longestOutageMs = Math.max(seen.longestOutageMs, performance.now() - downSince);
      return { ...seen };
    },
  };
}
