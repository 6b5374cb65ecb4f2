// bench/status: whole-process median wall time and peak memory of `renew-certs status` on a
// sandbox, beside bare `node -e 0`, and the start-up ratio of each form to it: as the build runs
// it (node build/src/cli/main.js), and, when `npm run build` has made them, as users run it (node
// dist/renew-certs.cjs, and dist/renew-certs, what hosts run). Prints numbers; asserts nothing.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSandbox } from "../src/sandbox/sandbox.js";
import { envNote, interleave, measure, median, report, REPO, type Case } from "./measure.js";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const RUNS = Number(process.env["BENCH_RUNS"] ?? 21);
const BUNDLE = join(REPO, "dist/renew-certs.cjs");
const EXE = join(REPO, "dist/renew-certs");

const root = await mkdtemp(join(tmpdir(), "renew-certs-bench-"));
try {
  await createSandbox(root, { ageDays: 300 });
  const cases: Case[] = [
    { label: "node -e 0", cmd: process.execPath, args: ["-e", "0"] },
    { label: "node build/src/cli/main.js status", cmd: process.execPath, args: [CLI, "status", "--root", root] },
  ];
  if (existsSync(BUNDLE)) cases.push({ label: "node dist/renew-certs.cjs status", cmd: process.execPath, args: [BUNDLE, "status", "--root", root] });
  if (existsSync(EXE)) cases.push({ label: "dist/renew-certs status", cmd: EXE, args: ["status", "--root", root] });
  for (const c of cases) measure(c.cmd, c.args); // warm the page cache
  const samples = interleave(cases, RUNS);
  const base = median(samples.get("node -e 0")!.map((x) => x.ms));
  console.log(envNote());
  console.log(`runs: ${RUNS} each, interleaved${existsSync(BUNDLE) ? "" : " (npm run build adds the bundle and the standalone executable)"}`);
  console.log(report(samples));
  for (const c of cases.slice(1)) {
    console.log(`ratio ${c.label} / node -e 0: ${(median(samples.get(c.label)!.map((x) => x.ms)) / base).toFixed(2)}`);
  }
  console.log("target: ratio ≤ 2.5 (status costs at most 2.5 bare node starts) for dist/renew-certs, what hosts run; peak ≤ 64 MiB");
} finally {
  await rm(root, { recursive: true, force: true });
}
