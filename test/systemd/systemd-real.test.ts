// renew-certs under a real systemd, as a new user meets it: a minimal Debian (debootstrap from
// Debian's packages, cached under .cache/) booted by systemd-nspawn with systemd 252 as PID 1, a
// control plane made by `renew-certs sandbox` in it, the kubelet test double running there as a
// service (it restarts the API server and /healthz doubles when their manifests change), and
// renew-certs installed with the standalone executable. The subtests run in order on one boot.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { needTools } from "../support/tools.js";
import { builtDistribution } from "../support/dist.js";
import { bootContainer, type Container, type ExecResult } from "./container.js";
import { debianRoot } from "./debian-root.js";
import { DOWN, READY, UNHEALTHY_ONCE } from "./kubelet-main.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
/** Where the freshly built distribution (dist/renew-certs) is mounted, read-only. */
const DIST = "/mnt/renew-certs";
/** The node that runs the kubelet test double inside (the test's own, mounted). */
const NODE = "/usr/local/lib/renew-certs-test/node";
const CONFIG = "/etc/renew-certs/config.yaml";
const METRICS = "/var/lib/node_exporter/textfile_collector/renew_certs.prom";
const BACKUPS = "/srv/renew-certs/backups";

/** Root, debootstrap and systemd-nspawn: required under CI=true, else the test skips. */
function canRun(t: TestContext): boolean {
  if (!needTools(t, "debootstrap", "systemd-nspawn", "nsenter")) return false;
  if (process.getuid?.() === 0) return true;
  if (process.env["CI"] === "true") assert.fail("booting a container needs root: CI runs as root");
  t.skip("needs root (systemd-nspawn)");
  return false;
}

const ok = (r: ExecResult, what: string): string => {
  assert.equal(r.status, 0, `${what} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("renew-certs installed on a host booted with a real systemd", { timeout: 900_000 }, async (t) => {
  if (!canRun(t)) return;
  const started = Date.now();
  const phase = (what: string): void => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);

  const work = await mkdtemp(join(tmpdir(), "renew-certs-systemd-"));
  process.once("exit", () => rmSync(work, { recursive: true, force: true }));
  // Built once per test run for the code under test (test/support/dist.ts).
  const dist = await builtDistribution();
  phase("standalone executable built");
  const image = await debianRoot((l) => t.diagnostic(l));
  phase(`Debian root ready: ${image}`);
  const c: Container = await bootContainer({
    image, name: `renew-certs-test-${process.pid}`, consoleFile: join(work, "console.log"),
    // The compiled tests and their dependencies, at the same paths, for the kubelet test double.
    binds: [{ host: dist, container: DIST, readOnly: true }, { host: process.execPath, container: NODE, readOnly: true },
      ...["build", "node_modules"].map((d) => ({ host: join(REPO, d), readOnly: true }))],
  });
  t.after(() => c.stop());
  phase(`booted: ${ok(await c.exec(["systemctl", "--version"]), "systemctl --version").split("\n")[0]}`);

  const exec = (args: string[]): Promise<ExecResult> => c.exec(args);
  const file = (p: string): Promise<string> => readFile(c.path(p), "utf8");
  const setConfig = async (key: string, value: string): Promise<void> => {
    const text = await file(CONFIG);
    assert.match(text, new RegExp(`^${key}: `, "m"));
    await writeFile(c.path(CONFIG), text.replace(new RegExp(`^${key}: .*$`, "m"), `${key}: ${value}`));
  };
  const show = async (unit: string, ...props: string[]): Promise<Record<string, string>> =>
    Object.fromEntries(ok(await exec(["systemctl", "show", unit, "--timestamp=unix", ...props.flatMap((p) => ["-p", p])]), "systemctl show").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  /** Waits until the service has run anew (a new invocation that has ended) and returns its properties. */
  const runEnded = async (previous: string): Promise<Record<string, string>> => {
    for (let i = 0; i < 1200; i++) {
      const p = await show("renew-certs.service", "InvocationID", "ActiveState", "Result", "ExecMainStatus", "ExecStartPre");
      if (p["InvocationID"] && p["InvocationID"] !== previous && (p["ActiveState"] === "inactive" || p["ActiveState"] === "failed")) return p;
      await sleep(250);
    }
    assert.fail(`renew-certs.service did not run and end within 5 minutes:\n${(await exec(["journalctl", "-n", "60", "--no-pager"])).stdout}`);
  };
  /** The run's own lines (not systemd's), with their journal priorities. */
  const runLines = async (invocation: string): Promise<{ priority: string; message: string }[]> =>
    ok(await exec(["journalctl", `_SYSTEMD_INVOCATION_ID=${invocation}`, "-o", "json", "--no-pager"]), "journalctl").trim().split("\n").filter(Boolean)
      .map((l) => JSON.parse(l) as { PRIORITY: string; MESSAGE: string; SYSLOG_IDENTIFIER?: string })
      .filter((e) => e.SYSLOG_IDENTIFIER === "renew-certs").map((e) => ({ priority: e.PRIORITY, message: e.MESSAGE }));
  /** Waits until every component runs the files on disk (doctor judges it: "<component> runs the files on disk"). */
  const servingTheCertificateOnDisk = async (): Promise<void> => {
    let seen = "";
    for (let i = 0; i < 120; i++) {
      const findings = (JSON.parse((await exec(["renew-certs", "doctor", "-o", "json"])).stdout) as { findings: { check: string; severity: string; detail: string }[] }).findings;
      const running = findings.filter((x) => x.check.endsWith(" runs the files on disk"));
      if (running.length === 3 && running.every((f) => f.severity === "OK")) return;
      seen = JSON.stringify(running);
      await sleep(250);
    }
    assert.fail(`the control plane did not restart onto the restored files: ${seen}`);
  };
  /** Every file of the control plane with its bytes, mode and owner. */
  const controlPlane = async (): Promise<string> => ok(await c.sh("cd / && find etc/kubernetes var/lib/kubelet -type f -printf '%m %U:%G %p\\n' | sort && find etc/kubernetes var/lib/kubelet -type f -print0 | sort -z | xargs -0 sha256sum"), "snapshot");

  // The host before renew-certs: a control plane whose certificates are 300 days old, its kubelet
  // running; /srv/renew-certs and the node_exporter directory do not exist.
  ok(await exec([`${DIST}/renew-certs`, "sandbox", "/var/tmp/cp", "--age-days", "300"]), "sandbox");
  ok(await c.sh("cp -a /var/tmp/cp/. / && rm -rf /var/tmp/cp"), "copy the sandbox to /");
  // An administrator's own copy of admin.conf: the run warns that it holds the old client certificate.
  ok(await c.sh("mkdir -p /home/alice/.kube && cp /etc/kubernetes/admin.conf /home/alice/.kube/config"), "a copy of admin.conf in a home directory");
  // A unit named kubelet: `systemctl restart kubelet` (the fallback of a stuck kubelet) acts on it.
  // Started once with systemd-run; afterwards the transient unit stays loaded (renew-certs.service
  // is ordered after it) and is started again with systemctl.
  const startKubelet = async (again = false): Promise<void> => {
    rmSync(c.path(READY), { force: true });
    ok(await exec(again ? ["systemctl", "start", "kubelet"] : ["systemd-run", "--unit=kubelet", NODE, join(REPO, "build/test/systemd/kubelet-main.js"), "serve"]), "start the kubelet test double");
    for (let i = 0; i < 240 && !existsSync(c.path(READY)); i++) await sleep(250);
    assert.ok(existsSync(c.path(READY)), `the kubelet test double did not start:\n${(await exec(["journalctl", "-u", "kubelet", "--no-pager"])).stdout}`);
  };
  await startKubelet();
  assert.equal(existsSync(c.path("/srv/renew-certs")) || existsSync(c.path("/var/lib/node_exporter")), false);
  // What an administrator sets before installing (install keeps an existing file's values): no
  // random delay, so the timer's catch-up run starts at once; a backupDir that does not exist yet.
  await mkdir(c.path("/etc/renew-certs"));
  await writeFile(c.path(CONFIG), `randomizedDelaySeconds: 0\nbackupDir: ${BACKUPS}\nhealthTimeoutSeconds: 25\nleaseWaitSeconds: 30\n`);
  phase("control plane and kubelet test double running");

  await t.test("install with the standalone executable writes the units and the directories a run writes, and starts the timer", async () => {
    const out = ok(await exec([`${DIST}/renew-certs`, "install"]), "install");
    assert.match(out, /^ {2}create {2}\/usr\/local\/bin\/renew-certs \(0755\) — from \/mnt\/renew-certs\/renew-certs$/m);
    assert.match(out, /^ {2}create {2}\/var\/lib\/node_exporter\/textfile_collector\/ \(0755\) — for metricsFile$/m);
    assert.match(out, /^ {2}create {2}\/srv\/renew-certs\/backups\/ \(0700\) — for backupDir$/m);
    assert.match(out, /run {5}systemctl enable --now renew-certs\.timer\ninstalled\n$/);
    assert.equal((await stat(c.path(BACKUPS))).mode & 0o777, 0o700);
    assert.deepEqual(await show("renew-certs.timer", "ActiveState", "UnitFileState"), { ActiveState: "active", UnitFileState: "enabled" });
    const security = ok(await exec(["systemd-analyze", "security", "renew-certs.service", "--no-pager"]), "systemd-analyze security");
    const exposure = /Overall exposure level for renew-certs\.service: (\d+\.\d+)/.exec(security);
    t.diagnostic(`systemd-analyze security renew-certs.service: ${exposure?.[0]}; not set: ${security.split("\n").filter((l) => l.startsWith("✗")).map((l) => l.split(/\s+/)[1]).join(" ")}`);
    assert.ok(exposure && Number(exposure[1]) <= 2.3, security);
  });

  await t.test("systemctl list-timers shows the timer and its next elapse", async () => {
    const out = ok(await exec(["systemctl", "list-timers", "renew-certs.timer", "--no-pager"]), "list-timers");
    t.diagnostic(out.split("\n").slice(0, 2).join(" | "));
    assert.match(out, /^\w{3} \d{4}-\d\d-\d\d 00:00:00 \w+ +\S.* left +- +- +renew-certs\.timer +renew-certs\.service$/m);
  });

  let lastInvocation = "";
  const invocations: string[] = [];
  await t.test("the timer starts the service, which recreates missing directories, renews, restarts and exits 0", async () => {
    // Directories gone after install (node_exporter purged, a cleanup): the service does not depend on them.
    ok(await c.sh("rm -rf /var/lib/node_exporter /srv/renew-certs"), "remove the directories");
    // A daily timer whose last run was two days ago catches up at once when started (Persistent=true).
    ok(await c.sh("systemctl stop renew-certs.timer && touch -d @$(( $(date +%s) - 172800 )) /var/lib/systemd/timers/stamp-renew-certs.timer && systemctl start renew-certs.timer"), "backdate the timer");
    const p = await runEnded("");
    lastInvocation = p["InvocationID"]!;
    invocations.push(lastInvocation);
    assert.deepEqual([p["Result"], p["ExecMainStatus"]], ["success", "0"], JSON.stringify(p));
    assert.notEqual((await show("renew-certs.timer", "LastTriggerUSec"))["LastTriggerUSec"], "", "the timer triggered it");
    const status = (await exec(["systemctl", "status", "renew-certs.service", "--no-pager", "-n", "0"])).stdout;
    assert.match(status, /TriggeredBy: .*renew-certs\.timer/);
    assert.match(status, /Main PID: \d+ \(code=exited, status=0\/SUCCESS\)/);
    const lines = (await runLines(lastInvocation)).map((l) => l.message);
    assert.ok(lines.some((l) => /^info: created \/srv\/renew-certs\/backups \(0700\)/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /^warn: \/home\/alice\/\.kube\/config holds admin\.conf's old client certificate/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /^info: renewed and healthy: 11 certificate\(s\); 3 component\(s\) restarted and proven new: kube-apiserver \(\w[\w ]+\), kube-controller-manager \((?:serving certificate|process table)\), kube-scheduler \((?:serving certificate|process table)\) backup=\/srv\/renew-certs\/backups\//.test(l)), lines.join("\n"));
    assert.match(await file(METRICS), /^renew_certs_last_run_success 1$/m);
    assert.equal((await readdir(c.path(BACKUPS))).length, 1);
    assert.equal((await stat(c.path("/var/lib/node_exporter/textfile_collector"))).mode & 0o777, 0o755);
    assert.match(ok(await exec(["renew-certs", "status"]), "status"), /\nrenew-certs run would do nothing yet: the oldest certificate, .* is 0 days old/);
  });

  await t.test("a restart that fails rolls back: exit 7 in systemctl status and the journal, every file as it was", async () => {
    // The 300-day-old files back from the backup (restart onto them): the next run is due again.
    assert.match(ok(await exec(["renew-certs", "restore", "latest", "--backup-dir", BACKUPS]), "restore"), /restored/);
    await servingTheCertificateOnDisk();
    await writeFile(c.path(UNHEALTHY_ONCE), "kube-scheduler\n");
    const before = await controlPlane();
    const start = await exec(["systemctl", "start", "renew-certs.service"]);
    assert.notEqual(start.status, 0);
    const p = await runEnded(lastInvocation);
    lastInvocation = p["InvocationID"]!;
    invocations.push(lastInvocation);
    assert.deepEqual([p["Result"], p["ExecMainStatus"]], ["exit-code", "7"]);
    assert.match((await exec(["systemctl", "status", "renew-certs.service", "--no-pager", "-n", "0"])).stdout, /Main PID: \d+ \(code=exited, status=7(\/\w+)?\)/);
    assert.equal(await controlPlane(), before);
    const lines = (await runLines(lastInvocation)).map((l) => l.message);
    assert.ok(lines.some((l) => /^error: kube-scheduler: a new process runs \(proven by its (?:serving certificate|process table)\), but it is not healthy 25 s after its manifest changed: .*\. Rolled back: every renewed file and manifest was restored .* on the previous certificates/.test(l)), lines.join("\n"));
  });

  await t.test("journal priorities: journalctl -p warning shows the warnings and errors of the runs and none of their info lines", async () => {
    // Both runs: the one that succeeded (its warnings) and the one that rolled back (its errors).
    const lines = (await Promise.all(invocations.map(runLines))).flat();
    const level = { "info:": "6", "warn:": "4", "error:": "3" } as Record<string, string>;
    for (const l of lines) assert.equal(l.priority, level[l.message.split(" ")[0]!] ?? "6", JSON.stringify(l));
    assert.ok(lines.some((l) => l.priority === "6") && lines.some((l) => l.priority === "4") && lines.some((l) => l.priority === "3"), JSON.stringify(lines));
    const warnings = ok(await exec(["journalctl", "-u", "renew-certs", "-p", "warning", "-o", "cat", "--no-pager"]), "journalctl -p warning").split("\n");
    assert.ok(warnings.some((l) => /^error: kube-scheduler: a new process runs .* but it is not healthy/.test(l)), warnings.join("\n"));
    assert.deepEqual(warnings.filter((l) => /^(<\d>)?info:/.test(l)), []);
    assert.ok(ok(await exec(["journalctl", "-u", "renew-certs", "-p", "info", "-o", "cat", "--no-pager"]), "journalctl -p info").includes("info: renewed and healthy"));
  });

  await t.test("doctor says when the timer runs next and how the last run ended", async () => {
    const r = await exec(["renew-certs", "doctor"]);
    assert.equal(r.status, 10, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK +next run +\w{3} \d{4}-\d\d-\d\d 00:00 UTC \(in (?:\d+ h )?\d+ min\)$/m);
    assert.match(r.stdout, /^FAIL +last run +\w{3} \d{4}-\d\d-\d\d \d\d:\d\d UTC \(less than a minute ago\): failed with exit 7 \(the control plane did not come back healthy; the previous files were restored\)$/m);
  });

  await t.test("a backupDir changed after install fails before the run, naming the fix; install again makes it work", async () => {
    await setConfig("backupDir", "/data/renew-certs");
    assert.notEqual((await exec(["systemctl", "start", "renew-certs.service"])).status, 0);
    let p = await runEnded(lastInvocation);
    lastInvocation = p["InvocationID"]!;
    assert.match(p["ExecStartPre"]!, /code=exited ; status=3 \}/);
    assert.match((await exec(["systemctl", "status", "renew-certs.service", "--no-pager", "-n", "0"])).stdout, /ExecStartPre=\/usr\/local\/bin\/renew-certs install --directories-only \(code=exited, status=3\)/);
    assert.deepEqual((await runLines(lastInvocation)).map((l) => [l.priority, l.message]), [["3", `error: /etc/systemd/system/renew-certs.service cannot write /data/renew-certs (backupDir): it was installed for another configuration than ${CONFIG}, and the rest of the file system is read-only to it; run renew-certs install to update the unit`]]);
    assert.match(ok(await exec(["renew-certs", "install"]), "install"), /update {2}\/etc\/systemd\/system\/renew-certs\.service[\s\S]*create {2}\/data\/renew-certs\/ \(0700\)/);
    ok(await exec(["systemctl", "start", "renew-certs.service"]), "start");
    p = await runEnded(lastInvocation);
    assert.deepEqual([p["Result"], p["ExecMainStatus"]], ["success", "0"]);
    assert.equal((await readdir(c.path("/data/renew-certs"))).length, 1);
    assert.match(ok(await exec(["renew-certs", "doctor"]), "doctor"), /^OK +last run +.*: succeeded \(exit 0\)$/m);
  });

  await t.test("SystemCallErrorNumber=EPERM is load-bearing: under @system-service alone the kernel kills the executable", async () => {
    const killed = await exec(["systemd-run", "--wait", "--pipe", "-p", "SystemCallFilter=@system-service", "/usr/local/bin/renew-certs", "--version"]);
    assert.match(killed.stderr, /code=killed\/status=SYS/);
    const allowed = await exec(["systemd-run", "--wait", "--pipe", "-q", "-p", "SystemCallFilter=@system-service", "-p", "SystemCallErrorNumber=EPERM", "/usr/local/bin/renew-certs", "--version"]);
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stdout, /^\d+\.\d+\.\d+/);
  });

  await t.test("systemctl stop during a restart: the run says where it stopped at warning, exits 17 at once, leaves no temporary file and no lock, and the next run resumes", async () => {
    // Due again (the previous files back), and kube-scheduler crash-looping: the run waits for it until stopped.
    assert.match(ok(await exec(["renew-certs", "restore", "latest", "--backup-dir", "/data/renew-certs"]), "restore"), /restored/);
    await servingTheCertificateOnDisk();
    await setConfig("healthTimeoutSeconds", "3600");
    ok(await exec(["renew-certs", "install"]), "install (TimeoutStartSec for the longer wait)");
    await writeFile(c.path(DOWN), "kube-scheduler\n");
    const previous = (await show("renew-certs.service", "InvocationID"))["InvocationID"] ?? "";
    ok(await exec(["systemctl", "start", "--no-block", "renew-certs.service"]), "start the service");
    // The event: the job record says kube-scheduler is being restarted (written before its manifest changes and the wait).
    const record = async (): Promise<{ phase?: string; steps?: { component: string }[] }> => JSON.parse(await file("/var/lib/renew-certs/job.json").catch(() => "{}")) as { phase?: string; steps?: { component: string }[] };
    for (let i = 0; i < 1200; i++) {
      const r = await record();
      if (r.phase === "restarting" && r.steps?.at(-1)?.component === "kube-scheduler") break;
      await sleep(250);
    }
    const before = await record();
    assert.equal(before.steps?.at(-1)?.component, "kube-scheduler", `the run did not reach kube-scheduler's restart: ${JSON.stringify(before)}`);
    const sent = Date.now();
    ok(await exec(["systemctl", "stop", "renew-certs.service"]), "systemctl stop");
    const stopMs = Date.now() - sent;
    const p = await runEnded(previous);
    t.diagnostic(`systemctl stop renew-certs: returned after ${stopMs} ms (SIGTERM, then the run's exit)`);
    assert.equal(p["ExecMainStatus"], "17", JSON.stringify(p));
    assert.ok(stopMs < 30_000, `systemctl stop took ${stopMs} ms`);
    const lines = await runLines(p["InvocationID"]!);
    const text = lines.map((l) => l.message).join("\n");
    const warning = lines.find((l) => /^warn: stopped by SIGTERM while restarting kube-scheduler \(its manifest changed at [^)]+\): the next run will prove kube-scheduler is a new, healthy process, then restart the rest$/.test(l.message));
    assert.ok(warning, text);
    assert.equal(warning.priority, "4", "at warning priority (journalctl -p warning)");
    assert.match(text, /^info: released the renew-certs lease$/m);
    assert.doesNotMatch(text, /^error:|rolling back/m);
    assert.equal(ok(await c.sh("find /etc/kubernetes /var/lib/renew-certs /var/lib/node_exporter -name '*.renew-certs-*.tmp'"), "temporary files"), "");
    assert.equal(existsSync(c.path("/var/lib/renew-certs/lock")), false, "the lock is released");
    assert.equal((await record()).phase, "restarting", "the record stays where the run stopped");
    assert.match(await file(METRICS), /^renew_certs_last_run_exit_code\{result="stopped by SIGTERM; the next run resumes where it stopped"\} 17$/m);
    const doctor = (await exec(["renew-certs", "doctor"])).stdout;
    assert.match(doctor, /^FAIL +last run +.*: failed with exit 17 \(stopped by SIGTERM; the next run resumes where it stopped\)$/m, doctor);
    assert.match(doctor, /^WARN +interrupted run +the last run stopped while restarting kube-scheduler .*; the next run will prove kube-scheduler is a new, healthy process/m, doctor);

    // kube-scheduler can come back: the next run resumes the restart and finishes.
    rmSync(c.path(DOWN), { force: true });
    ok(await exec(["systemctl", "start", "--no-block", "renew-certs.service"]), "start the service again");
    const again = await runEnded(p["InvocationID"]!);
    const next = (await runLines(again["InvocationID"]!)).map((l) => l.message).join("\n");
    assert.equal(again["ExecMainStatus"], "0", next);
    assert.match(next, /^warn: the last run stopped while restarting kube-scheduler .*: this run will prove kube-scheduler is a new, healthy process/m);
    assert.match(next, /^info: renewed and healthy: 11 certificate\(s\)/m);
    await setConfig("healthTimeoutSeconds", "25");
  });

  await t.test("a control plane whose certificates expired, its kubelet started after the expiry: the service re-issues the kubelet's certificate and restarts the kubelet under its own hardening, and every component comes back on the renewed certificates", async () => {
    ok(await exec(["renew-certs", "install"]), "install (the units for the configuration as it is now)");
    ok(await exec(["systemctl", "stop", "kubelet"]), "stop the kubelet");
    ok(await exec([`${DIST}/renew-certs`, "sandbox", "/var/tmp/cp", "--age-days", "400"]), "an expired sandbox");
    ok(await c.sh("cp -a /var/tmp/cp/. / && rm -rf /var/tmp/cp"), "copy the sandbox to /");
    await startKubelet(true);
    const text = await file(CONFIG);
    await writeFile(c.path(CONFIG), /^fallbackAfterSeconds: /m.test(text) ? text.replace(/^fallbackAfterSeconds: .*$/m, "fallbackAfterSeconds: 3") : `${text}fallbackAfterSeconds: 3\n`);
    const previous = (await show("renew-certs.service", "InvocationID"))["InvocationID"] ?? "";
    ok(await exec(["systemctl", "start", "--no-block", "renew-certs.service"]), "start the service");
    const p = await runEnded(previous);
    const lines = await runLines(p["InvocationID"]!);
    const text2 = lines.map((l) => l.message).join("\n");
    assert.equal(p["ExecMainStatus"], "0", text2);
    assert.match(text2, /re-issued the kubelet's client certificate \(system:node:/);
    assert.match(text2, /restarting the kubelet so that it loads its re-issued client certificate \(through systemd and crictl\)/);
    assert.doesNotMatch(text2, /could not restart the kubelet|rolling back/);
    assert.match(text2, /renewed and healthy: 11 certificate\(s\)/);
    const kubeletJournal = ok(await exec(["journalctl", "-u", "kubelet", "--no-pager", "-o", "cat"]), "journalctl -u kubelet");
    // systemd's own lines of the unit: started by the test twice, then restarted by the service.
    assert.ok((kubeletJournal.match(/^Started kubelet\.service/gm) ?? []).length >= 3, kubeletJournal.split("\n").filter((l) => /kubelet\.service/.test(l)).join("\n"));
    t.diagnostic(`fallbacks: ${lines.filter((l) => /not restarted by the kubelet|old container/.test(l.message)).map((l) => l.message.slice(0, 160)).join(" | ") || "none needed"}`);
  });

  await t.test("uninstall removes the units and leaves the PKI and the backups", async () => {
    const before = await controlPlane();
    const backups = ok(await c.sh(`find ${BACKUPS} /data/renew-certs -type f -print0 | sort -z | xargs -0 sha256sum`), "backups");
    const out = ok(await exec(["renew-certs", "uninstall"]), "uninstall");
    assert.match(out, /run {5}systemctl disable --now renew-certs\.timer/);
    assert.doesNotMatch(ok(await exec(["systemctl", "list-timers", "--all", "--no-pager"]), "list-timers"), /renew-certs/);
    assert.equal((await show("renew-certs.service", "LoadState"))["LoadState"], "not-found");
    assert.equal(await controlPlane(), before);
    assert.equal(ok(await c.sh(`find ${BACKUPS} /data/renew-certs -type f -print0 | sort -z | xargs -0 sha256sum`), "backups"), backups);
  });
  phase("done");
});
