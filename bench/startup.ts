// bench/startup: size and start-up time of the standalone executable, beside the bundle run by
// node and bare `node -e 0`. Builds dist/ when missing (npm run build). Prints numbers; asserts nothing.
import { statSync } from "node:fs";
import { envNote, interleave, ensureDist, measure, report } from "./measure.js";

const RUNS = Number(process.env["BENCH_RUNS"] ?? 21);
const { bundle, exe } = ensureDist();
const mib = (f: string): string => (statSync(f).size / 1024 / 1024).toFixed(1);

// The first run of each reads the files from disk (or the page cache, if they are there already).
const first = [
  ["standalone --version", measure(exe, ["--version"]).ms],
  ["node bundle --version", measure(process.execPath, [bundle, "--version"]).ms],
  ["node -e 0", measure(process.execPath, ["-e", "0"]).ms],
] as const;
const samples = interleave([
  { label: "node -e 0", cmd: process.execPath, args: ["-e", "0"] },
  { label: "node dist/renew-certs.cjs --version", cmd: process.execPath, args: [bundle, "--version"] },
  { label: "dist/renew-certs --version", cmd: exe, args: ["--version"] },
], RUNS);

console.log(`standalone executable  dist/renew-certs       ${mib(exe)} MiB (node ${process.version} with the bundle injected)`);
console.log(`bundle                 dist/renew-certs.cjs   ${mib(bundle)} MiB`);
console.log(`first run              ${first.map(([l, ms]) => `${l} ${ms.toFixed(1)} ms`).join(", ")}`);
console.log(envNote());
console.log(`runs: ${RUNS} each, interleaved`);
console.log(report(samples));
