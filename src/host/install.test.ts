import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "../../test/support/cli.js";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { needTools } from "../../test/support/tools.js";
import { recordingSystemd } from "../../test/doubles/systemd.js";
import { DEFAULT_SETTINGS, HOST_PATHS } from "../config/settings.js";
import { loadConfig } from "../config/load.js";
import { renderServiceUnit, renderTimerUnit } from "./files.js";
import { planInstall } from "./install.js";
import { planUninstall } from "./uninstall.js";
import { applyPlan, isNoop } from "./plan.js";
import { RenewCertsError } from "../errors.js";

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;

/** A sandbox control plane with a backup in it, and a stand-in executable to install. */
async function host(t: TestContext): Promise<{ root: string; binary: string }> {
  const root = await copySandbox(t, ec);
  const backup = join(root, "var/lib/renew-certs/backups/20260101T000000Z");
  await mkdir(join(backup, "pki"), { recursive: true, mode: 0o700 });
  await writeFile(join(backup, "pki/ca.crt"), await readFile(join(root, "etc/kubernetes/pki/ca.crt")));
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-bin-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const binary = join(dir, "renew-certs");
  await writeFile(binary, "#!/bin/sh\necho renew-certs stand-in\n");
  await chmod(binary, 0o755);
  return { root, binary };
}

/** The relative paths whose entries differ between two snapshots. */
function changedPaths(a: Map<string, unknown>, b: Map<string, unknown>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))).sort();
}

const mode = async (f: string): Promise<number> => (await stat(f)).mode & 0o7777;

test("install into a --root sandbox writes the documented files and modes; a second install reports no change", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  const first = cli(["install", "--root", root, "--binary", binary]);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /create {2}\/etc\/systemd\/system\/renew-certs\.timer \(0644\)/);
  assert.match(first.stdout, /note: --root is .*, not \/, so systemctl was not run: run on the host: systemctl daemon-reload && systemctl enable --now renew-certs.timer/);
  for (const p of [HOST_PATHS.configFile, HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit]) assert.equal(await mode(join(root, p)), 0o644, p);
  assert.equal(await mode(join(root, HOST_PATHS.binary)), 0o755);
  assert.deepEqual(await readFile(join(root, HOST_PATHS.binary)), await readFile(binary));
  assert.equal(await readFile(join(root, HOST_PATHS.serviceUnit), "utf8"), renderServiceUnit({ ...DEFAULT_SETTINGS }));
  assert.equal(await readFile(join(root, HOST_PATHS.timerUnit), "utf8"), renderTimerUnit({ ...DEFAULT_SETTINGS }));
  assert.deepEqual(await loadConfig(join(root, HOST_PATHS.configFile)), DEFAULT_SETTINGS);

  const before = await snapshot(root);
  const second = cli(["install", "--root", root, "--binary", binary]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /^no change: renew-certs is already installed as asked$/m);
  assert.doesNotMatch(second.stdout, /create|update/);
  assert.deepEqual(changedPaths(before, await snapshot(root)), []);
});

test("a new interval rewrites only the configuration file, and a later install keeps it", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  assert.equal(cli(["install", "--root", root, "--binary", binary]).status, 0);
  const before = await snapshot(root);
  const r = cli(["install", "--root", root, "--certificate-renew-interval", "30"]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(changedPaths(before, await snapshot(root)), ["etc/renew-certs/config.yaml"]);
  assert.doesNotMatch(r.stdout, /systemctl was not run/, "a configuration change needs no daemon-reload");
  assert.equal((await loadConfig(join(root, HOST_PATHS.configFile))).certificateRenewInterval, 30);
  assert.match(cli(["install", "--root", root]).stdout, /no change/);
});

test("uninstall removes the units and the configuration and leaves certificates, manifests, backups and the executable byte-identical", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  assert.equal(cli(["install", "--root", root, "--binary", binary]).status, 0);
  await mkdir(join(root, "etc/systemd/system/timers.target.wants"), { recursive: true });
  // What "systemctl --root=DIR enable renew-certs.timer" leaves behind.
  await writeFile(join(root, "etc/systemd/system/timers.target.wants/other.timer"), "");
  const { symlink } = await import("node:fs/promises");
  await symlink("/etc/systemd/system/renew-certs.timer", join(root, "etc/systemd/system/timers.target.wants/renew-certs.timer"));
  const before = await snapshot(root);
  const r = cli(["uninstall", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(changedPaths(before, await snapshot(root)), [
    "etc/renew-certs/config.yaml",
    "etc/systemd/system/renew-certs.service",
    "etc/systemd/system/renew-certs.timer",
  ]);
  await assert.rejects(stat(join(root, "etc/systemd/system/timers.target.wants/renew-certs.timer")), /ENOENT/);
  await assert.rejects(stat(join(root, "etc/renew-certs")), /ENOENT/, "the emptied /etc/renew-certs goes too");
  assert.match(r.stdout, /kept: \/usr\/local\/bin\/renew-certs/);
  const again = cli(["uninstall", "--root", root]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /no change: renew-certs is not installed/);
});

test("a bad schedule is refused at install with a clear error and nothing is written", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  const before = await snapshot(root);
  const r = cli(["install", "--root", root, "--binary", binary, "--schedule", "dialy"]);
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^error: --schedule "dialy" is not a systemd calendar expression \(systemd-analyze: Failed to parse calendar specification 'dialy': Invalid argument\); use one such as daily/);
  assert.deepEqual(changedPaths(before, await snapshot(root)), []);
});

test("a bad schedule in an existing configuration file is refused naming the file", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  await mkdir(join(root, "etc/renew-certs"));
  await writeFile(join(root, HOST_PATHS.configFile), "schedule: '*-*-* 25:00'\n");
  const before = await snapshot(root);
  const r = cli(["install", "--root", root, "--binary", binary]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, new RegExp(`^error: schedule in configuration file ${root}/etc/renew-certs/config.yaml "\\*-\\*-\\* 25:00" is not a systemd calendar expression`));
  assert.deepEqual(changedPaths(before, await snapshot(root)), []);
});

test("a bad interval flag and a bad existing configuration file are refused and nothing is written", async (t) => {
  const { root, binary } = await host(t);
  const before = await snapshot(root);
  const flag = cli(["install", "--root", root, "--binary", binary, "--certificate-renew-interval=-1"]);
  assert.equal(flag.status, 3);
  assert.match(flag.stderr, /^error: the command line is invalid \(1 problem\); fix it and run again:\n {2}--certificate-renew-interval: must be a whole number of days, from 0 to 3650 \(ten years\) \(got -1\)\n$/);
  await mkdir(join(root, "etc/renew-certs"));
  await writeFile(join(root, HOST_PATHS.configFile), "certificateRenewInterval: 60\nbackupsKeep: 3\n");
  const snap = await snapshot(root);
  const file = cli(["install", "--root", root, "--binary", binary]);
  assert.equal(file.status, 3);
  assert.match(file.stderr, /configuration file .*config\.yaml is invalid \(1 problem\)[^\n]*\n {2}line 2: backupsKeep: unknown setting: did you mean backupsKept\?/);
  assert.deepEqual(changedPaths(snap, await snapshot(root)), []);
  assert.ok(before.size > 0);
});

test("without --binary under node, install says --binary is needed, and keeps an executable already there", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  const r = cli(["install", "--root", root]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: no standalone executable to install at .*usr\/local\/bin\/renew-certs: renew-certs runs under Node.js here, so pass --binary PATH/);
  await rm(join(root, "etc/renew-certs"), { recursive: true, force: true });
  assert.equal(cli(["install", "--root", root, "--binary", binary]).status, 0);
  const keep = cli(["install", "--root", root]);
  assert.match(keep.stdout, /keep {4}\/usr\/local\/bin\/renew-certs — no change|keep {4}\/usr\/local\/bin\/renew-certs — already there/);
  const missing = cli(["install", "--root", root, "--binary", join(root, "nope")]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--binary .*nope does not exist/);
});

test("a --root that does not exist is refused", () => {
  const r = cli(["install", "--root", "/nonexistent/renew-certs-root", "--binary", "/bin/sh"]);
  assert.equal(r.status, 4);
  assert.match(r.stderr, /root directory \/nonexistent\/renew-certs-root does not exist/);
});

test("--dry-run prints the plan and writes nothing", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  const before = await snapshot(root);
  const r = cli(["install", "--root", root, "--binary", binary, "--dry-run"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /create {2}\/etc\/renew-certs\/config\.yaml[\s\S]*dry run: nothing was written/);
  assert.deepEqual(changedPaths(before, await snapshot(root)), []);
});

test("on a live host, install reloads and enables the timer once; a second install runs no systemctl command", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  const systemd = recordingSystemd();
  const plan = await planInstall({ root, binary, systemd });
  await applyPlan(plan, systemd, { done: "" });
  assert.deepEqual(systemd.calls, [["daemon-reload"], ["enable", "--now", "renew-certs.timer"]]);
  const again = await planInstall({ root, binary, systemd });
  assert.ok(isNoop(again), JSON.stringify(again));
  assert.deepEqual(again.after, []);
});

test("on a live host, a new schedule reloads and restarts the running timer; --no-enable only reloads and says how to enable", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  const systemd = recordingSystemd({ enabled: true, active: true });
  await applyPlan(await planInstall({ root, binary, systemd }), systemd, { done: "" });
  systemd.calls.length = 0;
  await applyPlan(await planInstall({ root, systemd, flags: { schedule: "weekly" } }), systemd, { done: "" });
  assert.deepEqual(systemd.calls, [["daemon-reload"], ["restart", "renew-certs.timer"]]);
  const fresh = await host(t);
  const quiet = recordingSystemd();
  const plan = await planInstall({ root: fresh.root, binary: fresh.binary, systemd: quiet, enable: false });
  await applyPlan(plan, quiet, { done: "" });
  assert.deepEqual(quiet.calls, [["daemon-reload"]]);
  assert.match(plan.notes.join("\n"), /not enabled \(--no-enable\): systemctl enable --now renew-certs.timer/);
});

test("on a live host, uninstall disables the timer before removing its unit, then reloads", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  const systemd = recordingSystemd();
  await applyPlan(await planInstall({ root, binary, systemd }), systemd, { done: "" });
  systemd.calls.length = 0;
  const plan = await planUninstall({ root, systemd });
  assert.deepEqual(plan.before, [["disable", "--now", "renew-certs.timer"]]);
  await applyPlan(plan, systemd, { done: "" });
  assert.deepEqual(systemd.calls, [["disable", "--now", "renew-certs.timer"], ["daemon-reload"]]);
  assert.equal(systemd.state.enabled, false);
});

test("a failing systemctl is one error naming the command, and uninstall then removes nothing", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const { root, binary } = await host(t);
  const failing = recordingSystemd({ fail: "enable" });
  await assert.rejects(applyPlan(await planInstall({ root, binary, systemd: failing }), failing, { done: "the files are installed; run install again" }), (e: RenewCertsError) =>
    e.code === "IO" && /^systemctl enable --now renew-certs.timer failed: Failed to connect to bus: No such file or directory; the files are installed/.test(e.message));
  const before = await snapshot(root);
  const stuck = recordingSystemd({ fail: "disable" });
  await assert.rejects(applyPlan(await planUninstall({ root, systemd: stuck }), stuck, { done: "" }), /systemctl disable --now renew-certs.timer failed: .*nothing was removed/);
  assert.deepEqual(changedPaths(before, await snapshot(root)), []);
});
