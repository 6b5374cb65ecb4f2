// Shared by the benchmarks: whole-process wall time and peak memory of one command.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository, from build/bench/. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** One measured run: wall time in ms, peak resident memory in KiB (NaN without /usr/bin/time). */
export interface Sample {
  ms: number;
  kib: number;
}

/**
 * The environment of every measured process: this one's, without what changes Node.js's own
 * start-up. NODE_EXTRA_CA_CERTS makes every node process load a CA bundle before it runs any
 * code (tens of milliseconds, which would hide the cost of our own start-up in the baseline);
 * NODE_OPTIONS could add anything.
 */
export const BENCH_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_EXTRA_CA_CERTS" && k !== "NODE_OPTIONS"));

/** A line saying what the measurements leave out of the environment, when it matters. */
export function envNote(): string {
  const dropped = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"].filter((k) => process.env[k] !== undefined);
  return dropped.length ? `environment: measured without ${dropped.join(" and ")} (set here; it slows every node start alike)` : "environment: as is";
}

/** Runs `cmd args` (under /usr/bin/time -f %M when present); throws when it fails. */
export function measure(cmd: string, args: string[]): Sample {
  const timed = existsSync("/usr/bin/time");
  const t0 = process.hrtime.bigint();
  const r = timed ? spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], { encoding: "utf8", env: BENCH_ENV }) : spawnSync(cmd, args, { encoding: "utf8", env: BENCH_ENV });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.error?.message ?? r.stderr}`);
  return { ms, kib: timed ? Number(r.stderr.trim().split("\n").pop()) : NaN };
}

/** The median of some numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One benchmarked command. */
export interface Case {
  label: string;
  cmd: string;
  args: string[];
}

/** Runs every case `runs` times, interleaved (so drift hits all alike); returns samples per label. */
export function interleave(cases: Case[], runs: number): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>(cases.map((c) => [c.label, []]));
  for (let i = 0; i < runs; i++) for (const c of cases) out.get(c.label)!.push(measure(c.cmd, c.args));
  return out;
}

/** "label  median 41.2 ms   peak 45.1 MiB" lines, aligned. */
export function report(samples: Map<string, Sample[]>): string {
  const width = Math.max(...[...samples.keys()].map((k) => k.length));
  return [...samples].map(([label, xs]) => {
    const peak = Math.max(...xs.map((x) => x.kib)) / 1024;
    return `${label.padEnd(width)}   median ${median(xs.map((x) => x.ms)).toFixed(1).padStart(6)} ms   peak ${peak.toFixed(1).padStart(5)} MiB`;
  }).join("\n");
}

/** Builds dist/ (bundle and standalone executable) when it is missing. */
export function ensureDist(): { bundle: string; exe: string } {
  const bundle = `${REPO}dist/renew-certs.cjs`;
  const exe = `${REPO}dist/renew-certs`;
  if (!existsSync(bundle) || !existsSync(exe)) {
    const r = spawnSync(process.execPath, [`${REPO}scripts/build.mjs`], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("node scripts/build.mjs failed");
  }
  return { bundle, exe };
}
