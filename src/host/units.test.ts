// systemd-analyze verify on the exact bytes install writes.
//
// verify checks that ExecStart's program exists and is executable, and it loads the units the
// ones under test depend on (sysinit.target, timers.target...). Neither /usr/local/bin/renew-certs
// nor our units may be put on the real host by a test, so install writes everything into a
// temporary --root (with a stand-in executable at <root>/usr/local/bin/renew-certs, installed
// by install itself through --binary), the host's own system units are copied to
// <root>/usr/lib/systemd/system, and `systemd-analyze verify --root=<root>` resolves every path,
// ExecStart's included, inside that root. Nothing is rewritten for the test.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needTools, run } from "../../test/support/tools.js";
import { cli } from "../../test/support/cli.js";
import { recordingSystemd } from "../../test/doubles/systemd.js";
import { DEFAULT_SETTINGS, HOST_PATHS } from "../config/settings.js";
import { realSystemd } from "./systemd.js";
import { planInstall } from "./install.js";
import { applyPlan } from "./plan.js";

const SYSTEM_UNITS = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(join(d, "sysinit.target")));

/** An empty root with the host's system units and a stand-in executable to install. */
async function verifyRoot(t: TestContext): Promise<{ root: string; binary: string }> {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-units-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, "usr/lib/systemd"), { recursive: true });
  await cp(SYSTEM_UNITS!, join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
  const binary = join(root, "stand-in");
  await writeFile(binary, "#!/bin/sh\nexit 0\n");
  await chmod(binary, 0o755);
  return { root, binary };
}

function verify(root: string): { status: number; stdout: string; stderr: string } {
  return run("systemd-analyze", ["verify", `--root=${root}`, HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit], { env: { ...process.env, SYSTEMD_LOG_LEVEL: "notice" } });
}

test("systemd-analyze verify passes on the units install writes, and fails without the executable", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  assert.ok(SYSTEM_UNITS, "the host's systemd units (sysinit.target) were not found");
  const { root, binary } = await verifyRoot(t);
  const r = cli(["install", "--root", root, "--binary", binary]);
  assert.equal(r.status, 0, r.stderr);
  const v = verify(root);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(v.stderr.trim(), "", "no warnings");
  // The check above could fail: without the executable, verify refuses the service.
  await rm(join(root, HOST_PATHS.binary));
  const missing = verify(root);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /Command \/usr\/local\/bin\/renew-certs is not executable/);
});

test("systemd-analyze verify passes on units made from non-default settings", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await verifyRoot(t);
  await mkdir(join(root, "etc/renew-certs"), { recursive: true });
  await writeFile(join(root, HOST_PATHS.configFile), [
    "schedule: '*-*-* 03:00:00'",
    "randomizedDelaySeconds: 0",
    "manifests: [kube-apiserver, etcd]",
    "backupDir: /srv/renew-certs-backups",
    "metricsFile: ''",
    "healthTimeoutSeconds: 30",
    "",
  ].join("\n"));
  const systemd = recordingSystemd({ controls: false });
  await applyPlan(await planInstall({ root, binary, systemd }), systemd, { done: "" });
  const v = verify(root);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(v.stderr.trim(), "", "no warnings");
});

test("systemd-analyze calendar accepts the default schedule and refuses a misspelt one", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const ok = await realSystemd.checkCalendar(DEFAULT_SETTINGS.schedule);
  assert.equal(ok.valid, true);
  assert.equal(ok.valid === true && ok.normalized, "*-*-* 00:00:00");
  const bad = await realSystemd.checkCalendar("dialy");
  assert.deepEqual(bad, { valid: false, message: "Failed to parse calendar specification 'dialy': Invalid argument" });
});
