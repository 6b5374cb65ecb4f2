// bench/downtime: API unavailability per renewal, restart mode all against minimal, side by side in
// one run, on the sandbox run by the simulator's doubles (kubelet, kube-apiserver, controller
// manager, scheduler, every duration a measured real one times BENCH_TIME_SCALE). For each mode:
// the longest window in which /livez (fresh connections, every 10 ms) did not answer "ok", and the
// run's total time; both also scaled back to real time. Interleaved runs, each on a fresh sandbox.
// Prints numbers; asserts nothing.
import { cp, mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createSandbox } from "../src/sandbox/sandbox.js";
import { assignFreePorts } from "../src/simulator/ports.js";
import { startKubeletDouble } from "../src/simulator/kubelet.js";
import { watchLivez } from "../src/simulator/availability.js";
import { DEFAULT_SIM_OPTIONS } from "../src/simulator/timing.js";
import { readManifest } from "../src/manifests/manifest.js";
import { DEFAULT_SETTINGS, type RestartMode } from "../src/config/settings.js";
import { memoryLogger } from "../src/log/logger.js";
import { runJob } from "../src/run/job.js";
import { median } from "./measure.js";

const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const SCALE = Number(process.env["BENCH_TIME_SCALE"] ?? DEFAULT_SIM_OPTIONS.timeScale);
const MODES: RestartMode[] = ["all", "minimal"];

async function once(template: string, base: string, mode: RestartMode): Promise<{ outageMs: number; runMs: number; failed: number }> {
  const root = join(base, `host-${mode}`);
  await cp(template, root, { recursive: true });
  await assignFreePorts(root);
  const kubelet = await startKubeletDouble({ root, sim: { timeScale: SCALE } });
  try {
    for (const deadline = Date.now() + 30_000; !kubelet.sourcesReady();) {
      if (Date.now() > deadline) throw new Error("the kubelet double did not reach the API server double");
      await new Promise((r) => setTimeout(r, 20));
    }
    const endpoint = (await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"))).advertiseEndpoint;
    const watch = watchLivez(endpoint);
    const t0 = performance.now();
    await runJob({ root, settings: { ...DEFAULT_SETTINGS, nodeName: kubelet.nodeName, restartMode: mode, healthTimeoutSeconds: 60 }, log: memoryLogger(), intervalMs: 20 });
    const runMs = performance.now() - t0;
    const seen = await watch.stop();
    return { outageMs: seen.longestOutageMs, runMs, failed: seen.failed };
  } finally {
    await kubelet.stop();
    await rm(root, { recursive: true, force: true });
  }
}

const base = await mkdtemp(join(tmpdir(), "renew-certs-bench-downtime-"));
try {
  const template = join(base, "template");
  await createSandbox(template, { ageDays: 300, keySpec: { type: "ec", curve: "P-256" } });
  const samples = new Map(MODES.map((m) => [m, [] as { outageMs: number; runMs: number; failed: number }[]]));
  for (let i = 0; i < RUNS; i++) for (const m of MODES) samples.get(m)!.push(await once(template, base, m));
  console.log(`machine: ${cpus().length} cores; ${RUNS} runs per mode, interleaved; simulator time scale ${SCALE} (real durations × ${SCALE}: kube-apiserver's 30 s grace period lasts ${(30 * SCALE).toFixed(2)} s here)`);
  console.log("API unavailability per renewal: the longest window in which /livez did not answer (probed every 10 ms on fresh connections), and the run's total time; medians, with real-time equivalents (÷ scale)");
  console.log("the real-time equivalents overstate: the doubles' own process start-up (a node process, a few hundred ms on this machine) is not scaled down with the rest");
  for (const [m, xs] of samples) {
    const out = median(xs.map((x) => x.outageMs));
    const run = median(xs.map((x) => x.runMs));
    console.log(`restart mode ${m.padEnd(8)} longest /livez outage ${(out / 1000).toFixed(2).padStart(6)} s (≈ ${(out / 1000 / SCALE).toFixed(1).padStart(5)} s real)   failed probes ${String(median(xs.map((x) => x.failed))).padStart(4)}   run ${(run / 1000).toFixed(2).padStart(6)} s (≈ ${(run / 1000 / SCALE).toFixed(0).padStart(4)} s real)`);
  }
} finally {
  await rm(base, { recursive: true, force: true });
}
