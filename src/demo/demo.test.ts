import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const DEMO = fileURLToPath(new URL("./demo.js", import.meta.url));

test("npm run demo: exit 0, no warning, each component proven a new process by its own source, a one-screen summary at the end", async () => {
  const child = spawn(process.execPath, [DEMO], { env: { ...process.env, NO_COLOR: "1", RENEW_CERTS_DEMO_CLEANUP: "1" }, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
  let out = "";
  child.stdout.on("data", (b: Buffer) => { out += b.toString(); });
  child.stderr.on("data", (b: Buffer) => { out += b.toString(); });
  const status = await new Promise<number | null>((r) => child.once("close", r));
  assert.equal(status, 0, out);
  assert.deepEqual(out.split("\n").filter((l) => /^(warn|error):/.test(l)), [], out);
  const summary = out.slice(out.indexOf("\n== summary\n"));
  assert.ok(out.includes("\n== summary\n") && summary.trim().split("\n").length <= 24, summary);
  assert.match(summary, /^renewed: +11 certificates/m);
  assert.match(summary, /^ +kube-apiserver +restarts: 1 +proven by its loopback certificate$/m);
  assert.match(summary, /^ +kube-controller-manager +restarts: 1 +proven by its serving certificate$/m);
  assert.match(summary, /^ +kube-scheduler +restarts: 1 +proven by its serving certificate$/m);
  assert.match(summary, /^warnings: +none$/m);
  assert.match(summary, /^run again: +not due/m);
  // The run's own log is shown, its per-certificate lines folded into one.
  assert.equal(out.split("\n").filter((l) => /^info: renewed \S+ notAfter=/.test(l)).length, 1, out);
});
