// `npm run demo`: a throwaway control plane, 300 days old, and what renew-certs makes of it.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSandbox } from "../sandbox/sandbox.js";
import { runMain } from "../cli/run-main.js";
import { text } from "node:stream/consumers";

const io = {
  stdout: (s: string) => void process.stdout.write(s),
  stderr: (s: string) => void process.stderr.write(s),
  env: process.env,
  isTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  readStdin: () => text(process.stdin),
};

const root = await mkdtemp(join(tmpdir(), "renew-certs-demo-"));
console.log(`== a sandbox control plane whose certificates were issued 300 days ago: ${root}`);
await createSandbox(root, { ageDays: 300 });
console.log(`\n== renew-certs status --root ${root}`);
const code = await runMain(["status", "--root", root], io);
console.log(`
== what comes next
The renewal engine (renew-certs renew) and the scheduled job (renew-certs run) build on this
inventory. Until they land, try:
  node build/src/cli/main.js status --root ${root} -o json
  node build/src/cli/main.js sandbox --help`);
process.exitCode = code;
