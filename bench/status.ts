// bench/status: whole-process median wall time and peak memory of `renew-certs status` on a
// sandbox, beside bare `node -e 0`. Prints numbers; asserts nothing.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSandbox } from "../src/sandbox/sandbox.js";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const RUNS = Number(process.env["BENCH_RUNS"] ?? 21);

/** Runs a command under /usr/bin/time -v when present; returns wall ms and peak RSS KiB. */
function measure(args: string[]): { ms: number; kib: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...args], { encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) {
    const t1 = process.hrtime.bigint();
    const plain = spawnSync(process.execPath, args, { encoding: "utf8" });
    if (plain.status !== 0) throw new Error(plain.stderr);
    return { ms: Number(process.hrtime.bigint() - t1) / 1e6, kib: NaN };
  }
  const kib = Number(r.stderr.trim().split("\n").pop());
  return { ms, kib };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const root = await mkdtemp(join(tmpdir(), "renew-certs-bench-"));
try {
  await createSandbox(root, { ageDays: 300 });
  const bare: { ms: number; kib: number }[] = [];
  const status: { ms: number; kib: number }[] = [];
  measure(["-e", "0"]);
  measure([CLI, "status", "--root", root]);
  for (let i = 0; i < RUNS; i++) {
    bare.push(measure(["-e", "0"]));
    status.push(measure([CLI, "status", "--root", root]));
  }
  const b = median(bare.map((x) => x.ms));
  const s = median(status.map((x) => x.ms));
  const peak = Math.max(...status.map((x) => x.kib)) / 1024;
  console.log(`runs: ${RUNS} each, interleaved`);
  console.log(`node -e 0                median ${b.toFixed(1)} ms   peak ${(Math.max(...bare.map((x) => x.kib)) / 1024).toFixed(1)} MiB`);
  console.log(`renew-certs status       median ${s.toFixed(1)} ms   peak ${peak.toFixed(1)} MiB`);
  console.log(`ratio status / node      ${(s / b).toFixed(2)}   (target ≤ 1.30; peak target ≤ 64 MiB)`);
} finally {
  await rm(root, { recursive: true, force: true });
}
