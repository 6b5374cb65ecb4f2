// Runs every compiled test file with Node's own test runner.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const files = find("build").filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
if (files.length === 0) {
  console.error("no test files found under build/: run npm run build:ts first");
  process.exit(1);
}
// The files that boot a real systemd share one cached Debian root, which the first of them builds:
// they run one at a time, after the rest, so that none boots a root another is still building.
const serial = files.filter((f) => f.includes("/test/systemd/"));
const parallel = files.filter((f) => !serial.includes(f));
let status = 0;
for (const [group, width] of [[parallel, 2], [serial, 1]]) {
  if (group.length === 0) continue;
  const r = spawnSync(process.execPath, ["--test", `--test-concurrency=${width}`, ...group], { stdio: "inherit" });
  if ((r.status ?? 1) !== 0) status = r.status ?? 1;
}
process.exit(status);
