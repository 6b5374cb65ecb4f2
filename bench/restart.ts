// bench/restart: a whole `run` on the sandbox with the test doubles (src/simulator), in this
// process: per component, the time from its manifest change to its new process proven healthy,
// and the time from the first restart to all proven. The doubles take real durations (kube-apiserver:
// 30 s grace for the old process, then 10–15 s to serve) times BENCH_TIME_SCALE (default 0.1);
// the probe interval is scaled alike, so dividing by the scale gives the real-host equivalent,
// printed beside. Prints numbers; asserts nothing.
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createSandbox } from "../src/sandbox/sandbox.js";
import { assignFreePorts } from "../src/simulator/ports.js";
import { startKubeletDouble } from "../src/simulator/kubelet.js";
import { runJob } from "../src/run/job.js";
import { DEFAULT_SETTINGS } from "../src/config/settings.js";
import { memoryLogger } from "../src/log/logger.js";
import { median } from "./measure.js";

const SCALE = Number(process.env["BENCH_TIME_SCALE"] ?? 0.1);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const s = (ms: number): string => `${(ms / 1000).toFixed(2).padStart(6)} s`;

console.log(`machine: ${cpus().length} cores; ${RUNS} full runs; the doubles' durations × ${SCALE}, real-host equivalent (÷ ${SCALE}) in brackets`);
const perComponent = new Map<string, number[]>();
const totals: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const base = await mkdtemp(join(tmpdir(), "renew-certs-bench-restart-"));
  const kubelet = await (async () => {
    await createSandbox(base, { ageDays: 300, keySpec: { type: "ec", curve: "P-256" } });
    await assignFreePorts(base);
    return startKubeletDouble({ root: base, sim: { timeScale: SCALE } });
  })();
  try {
    for (const deadline = Date.now() + 60_000; !kubelet.sourcesReady();) {
      if (Date.now() > deadline) throw new Error("the kubelet double did not reach the API server double");
      await new Promise((r) => setTimeout(r, 20));
    }
    const log = memoryLogger();
    const outcome = await runJob({ root: base, settings: { ...DEFAULT_SETTINGS, nodeName: "cp-1" }, log, intervalMs: Math.max(10, Math.round(1000 * SCALE)) });
    if (outcome.kind !== "renewed") throw new Error(`the run did not renew: ${outcome.kind}`);
    const first = outcome.steps[0]!.writtenAt;
    for (const step of outcome.steps) {
      const took = step.proven!.at - step.writtenAt;
      perComponent.set(`${step.component} (${step.proven!.by})`, [...(perComponent.get(`${step.component} (${step.proven!.by})`) ?? []), took]);
    }
    totals.push(Math.max(...outcome.steps.map((x) => x.proven!.at)) - first);
  } finally {
    await kubelet.stop();
    await rm(base, { recursive: true, force: true });
  }
}
for (const [c, xs] of perComponent) console.log(`${c.padEnd(50)} manifest changed → proven healthy: median ${s(median(xs))}  [${s(median(xs) / SCALE)}]`);
console.log(`${"first restart → all proven".padEnd(50)} median ${s(median(totals))}  [${s(median(totals) / SCALE)}]`);
console.log("kube-apiserver's share is the kubelet's 30 s grace period for the old process plus its start");
