import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLogger } from "../log/logger.js";
import { progressReporter, waitHealthy, type Clock, type Progress } from "./wait.js";
import type { HealthResult } from "./wait.js";
import { RenewCertsError } from "../errors.js";

/** A clock that only moves when the code under test sleeps (or a probe takes time). */
function fakeClock(): Clock & { t: number } {
  const c = { t: 0, now: () => c.t, sleep: async (ms: number) => { c.t += ms; } };
  return c;
}

const probe = (answers: boolean[], clock?: { t: number }, costMs = 0) => async (): Promise<HealthResult> => {
  if (clock) clock.t += costMs;
  const healthy = answers.shift() ?? false;
  return { healthy, detail: healthy ? "ok" : "connection refused" };
};

test("waiting polls once a second until the component is healthy", async () => {
  const clock = fakeClock();
  const seen: Progress[] = [];
  const r = await waitHealthy(probe([false, false, true]), { timeoutMs: 10_000, clock, onProgress: (p) => seen.push(p) });
  assert.deepEqual({ healthy: r.healthy, attempts: r.attempts, elapsedMs: r.elapsedMs, detail: r.detail }, { healthy: true, attempts: 3, elapsedMs: 2000, detail: "ok" });
  assert.deepEqual(seen.map((p) => p.elapsedMs), [0, 1000]);
});

test("waiting gives up at the timeout with the last probe's detail", async () => {
  const clock = fakeClock();
  const r = await waitHealthy(probe([], clock, 300), { timeoutMs: 5000, clock });
  assert.equal(r.healthy, false);
  assert.equal(r.detail, "connection refused");
  assert.ok(r.elapsedMs >= 5000 && r.elapsedMs < 6000, String(r.elapsedMs));
});

test("a probe that throws counts as unhealthy instead of ending the wait", async () => {
  const clock = fakeClock();
  let n = 0;
  const r = await waitHealthy(async () => { if (n++ === 0) throw new Error("boom"); return { healthy: true, detail: "ok" }; }, { timeoutMs: 5000, clock });
  assert.equal(r.healthy, true);
  assert.equal(r.attempts, 2);
});

test("in the journal the wait is one line every 15 seconds", () => {
  const log = memoryLogger();
  const written: string[] = [];
  const rep = progressReporter({ component: "kube-apiserver", isTTY: false, write: (s) => written.push(s), log });
  for (let s = 0; s <= 62; s++) rep.onProgress({ elapsedMs: s * 1000, attempt: s + 1, detail: "ECONNREFUSED" });
  rep.done();
  assert.deepEqual(log.lines.map((l) => l.fields["elapsed"]), ["15s", "30s", "45s", "60s"]);
  assert.ok(log.lines.every((l) => l.msg === "waiting for kube-apiserver to become healthy" && l.fields["last"] === "ECONNREFUSED"));
  assert.deepEqual(written, []);
});

test("on a terminal the wait is one line showing the elapsed time, cleared at the end", () => {
  const log = memoryLogger();
  const written: string[] = [];
  const rep = progressReporter({ component: "kube-scheduler", isTTY: true, write: (s) => written.push(s), log });
  rep.onProgress({ elapsedMs: 3400, attempt: 4, detail: "answered 500" });
  rep.done();
  assert.deepEqual(written, ["\r\u001b[Kwaiting for kube-scheduler: 3s (answered 500)", "\r\u001b[K"]);
  assert.deepEqual(log.lines, []);
});

test("a stop (SIGTERM) ends a wait at once with TERMINATED, even while a probe has not answered", async () => {
  const stop = new AbortController();
  let probes = 0;
  // A probe that never answers, on the real clock, and a timeout of an hour: only the stop ends the wait.
  const waiting = waitHealthy(() => { probes++; stop.abort("SIGTERM"); return new Promise<HealthResult>(() => undefined); }, { timeoutMs: 3_600_000, signal: stop.signal });
  await assert.rejects(waiting, (e: unknown) => e instanceof RenewCertsError && e.code === "TERMINATED" && e.message === "stopped by SIGTERM");
  assert.equal(probes, 1);
  const aborted = new AbortController();
  aborted.abort("SIGTERM");
  await assert.rejects(waitHealthy(probe([true]), { timeoutMs: 1000, signal: aborted.signal }), (e: unknown) => e instanceof RenewCertsError && e.code === "TERMINATED");
});
