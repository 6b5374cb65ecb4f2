// The DaemonSet's installer step run as a process, as the init container runs it: against a
// temporary directory standing in for the host's root, with a test double of nsenter on PATH that
// records the host commands and answers systemctl's questions (the real-systemd test runs it
// against a real systemd). The executables are copies of sleep, so that one can be left running.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, lstatSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import { cli } from "../../test/support/cli.js";
import { resolveSettings } from "../config/load.js";
import { hostFiles, renderConfigFile } from "../host/files.js";
import { HOST_PATHS } from "../config/settings.js";
import { terminationMessage } from "./host-step.js";

let work = "";
let bin = "";
/** The ConfigMap's config.yaml. */
let config = "";
const SETTINGS = { schedule: "weekly", backupDir: "/srv/renew-certs/backups", certificateRenewInterval: 45 };
let v1 = "";
let v2 = "";

/** nsenter's test double: checks PID 1's namespaces are asked for, logs the command, plays systemctl. */
const NSENTER = `#!/bin/sh
[ "$*" = "\${*#--target 1 --mount --uts --ipc --net --pid -- }" ] && { echo "nsenter: unexpected arguments: $*" >&2; exit 2; }
while [ "$1" != "--" ]; do shift; done; shift
echo "$*" >> "$NSENTER_LOG"
[ "$1" = systemctl ] || exec "$@"
wants="$HOST_ROOT/etc/systemd/system/timers.target.wants"
case "$2" in
  is-enabled) [ -L "$wants/renew-certs.timer" ] && { echo enabled; exit 0; }; echo disabled; exit 1;;
  is-active) [ -L "$wants/renew-certs.timer" ] && { echo active; exit 0; }; echo inactive; exit 3;;
  enable) mkdir -p "$wants" && ln -sf /etc/systemd/system/renew-certs.timer "$wants/renew-certs.timer";;
  disable) rm -f "$wants/renew-certs.timer";;
esac
exit 0
`;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "renew-certs-host-step-"));
  process.once("exit", () => rmSync(work, { recursive: true, force: true }));
  bin = join(work, "bin");
  await mkdir(bin);
  await writeFile(join(bin, "nsenter"), NSENTER, { mode: 0o755 });
  config = join(work, "configmap-config.yaml");
  await writeFile(config, renderConfigFile(await resolveSettings({ flags: SETTINGS })));
  // Two versions of "the executable": sleep, and sleep with bytes appended (still runs).
  v1 = join(work, "v1");
  copyFileSync("/bin/sleep", v1);
  v2 = join(work, "v2");
  copyFileSync("/bin/sleep", v2);
  await appendFile(v2, "renew-certs v2");
  chmodSync(v2, 0o755);
});

/** A host's root: a control plane (kube-apiserver's manifest) or a worker, with files renew-certs must never touch. */
async function hostRoot(name: string, controlPlane: boolean): Promise<string> {
  const root = join(work, name);
  const files: Record<string, string> = {
    "etc/kubernetes/pki/ca.crt": "a certificate\n",
    "var/lib/renew-certs/backups/20260101T000000Z/index.json": "{}\n",
    "etc/systemd/system/other.service": "[Service]\nExecStart=/bin/true\n",
    "usr/local/bin/other-tool": "#!/bin/sh\n",
    ...(controlPlane ? { "etc/kubernetes/manifests/kube-apiserver.yaml": "kind: Pod\n" } : {}),
  };
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(root, p, ".."), { recursive: true });
    await writeFile(join(root, p), text);
  }
  // The host booted with systemd: systemctl is used (through nsenter).
  await mkdir(join(root, "run/systemd/system"), { recursive: true });
  return root;
}

/** Runs `deploy STEP` as the init container does; returns its result, the host commands and the termination message. */
function step(root: string, args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string; commands: string[]; message: string } {
  const log = join(work, `${relative(work, root)}.commands`);
  const termination = join(work, `${relative(work, root)}.termination-log`);
  rmSync(log, { force: true });
  rmSync(termination, { force: true });
  const r = cli(["deploy", ...args, "--host-root", root, "--termination-log", termination], { env: { PATH: `${bin}:${process.env["PATH"]}`, NSENTER_LOG: log, HOST_ROOT: root, NODE_NAME: "cp-1", ...env } });
  const read = (f: string): string => (existsSync(f) ? readFileSync(f, "utf8") : "");
  return { ...r, commands: read(log).split("\n").filter((l) => l.startsWith("systemctl")), message: read(termination) };
}

const install = (root: string, exe = v1, env: Record<string, string> = {}): ReturnType<typeof step> => step(root, ["install-host", "--config", config, "--binary", exe], env);

/** Every file and directory under `root`: type, mode, inode, mtime and content hash. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const s = lstatSync(p, { bigint: true });
      const what = s.isDirectory() ? "dir" : s.isSymbolicLink() ? "link" : createHash("sha256").update(readFileSync(p)).digest("hex");
      out[relative(root, p)] = `${what} ${s.mode.toString(8)} ${s.ino} ${s.mtimeNs}`;
      if (s.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out;
}

test("first install on a control-plane host: the units and config.yaml install writes, the executable, then daemon-reload and enable --now", async () => {
  const root = await hostRoot("cp-first", true);
  const r = install(root);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.commands, ["systemctl is-enabled renew-certs.timer", "systemctl is-active renew-certs.timer", "systemctl daemon-reload", "systemctl enable --now renew-certs.timer"]);
  assert.deepEqual(await readFile(join(root, HOST_PATHS.binary)), await readFile(v1));
  assert.equal((await stat(join(root, HOST_PATHS.binary))).mode & 0o7777, 0o755);
  for (const f of hostFiles(await resolveSettings({ flags: SETTINGS }))) assert.equal(await readFile(join(root, f.path), "utf8"), f.content, f.path);
  assert.equal(await readFile(join(root, HOST_PATHS.configFile), "utf8"), await readFile(config, "utf8"));
  assert.equal((await stat(join(root, "srv/renew-certs/backups"))).mode & 0o777, 0o700);
  assert.match(r.message, /^renew-certs \d+\.\d+\.\d+ on node cp-1: control-plane node: installed or updated\n/);
  assert.match(r.message, /^ {2}create {2}\/usr\/local\/bin\/renew-certs \(0755\)/m);
  assert.equal(r.stdout, r.message);
});

test("the installer step writes the very bytes renew-certs install writes for the same configuration", async () => {
  const root = await hostRoot("cp-compare", true);
  assert.equal(install(root).status, 0);
  const other = await hostRoot("cp-install", true);
  await mkdir(join(other, "etc/renew-certs"));
  await writeFile(join(other, HOST_PATHS.configFile), await readFile(config));
  const r = cli(["install", "--root", other, "--binary", v1]);
  assert.equal(r.status, 0, r.stderr);
  for (const p of [HOST_PATHS.configFile, HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit, HOST_PATHS.binary]) {
    assert.deepEqual(await readFile(join(root, p)), await readFile(join(other, p)), p);
  }
});

test("a second run finds everything current: no byte, mode or mtime changes, no systemctl command but the two questions", async () => {
  const root = await hostRoot("cp-again", true);
  assert.equal(install(root).status, 0);
  const before = await snapshot(root);
  const r = install(root);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(await snapshot(root), before);
  assert.deepEqual(r.commands, ["systemctl is-enabled renew-certs.timer", "systemctl is-active renew-certs.timer"]);
  assert.match(r.message, /control-plane node: already installed as configured, nothing changed\n/);
});

test("an upgrade replaces the executable by rename: the running one keeps its inode, nothing else changes, nothing restarts", async () => {
  const root = await hostRoot("cp-upgrade", true);
  assert.equal(install(root).status, 0);
  const exe = join(root, HOST_PATHS.binary);
  const oldInode = (await stat(exe)).ino;
  // A run in progress: the installed executable, running.
  const running: ChildProcess = spawn(exe, ["600"], { stdio: "ignore" });
  try {
    await new Promise<void>((resolve, reject) => { running.once("spawn", resolve); running.once("error", reject); });
    const before = await snapshot(root);
    const r = install(root, v2);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await readFile(exe), await readFile(v2));
    assert.notEqual((await stat(exe)).ino, oldInode);
    assert.equal(running.exitCode, null, "the run in progress was not cut off");
    assert.equal(readlinkSync(`/proc/${running.pid}/exe`), `${exe} (deleted)`);
    assert.equal(statSync(`/proc/${running.pid}/exe`).ino, oldInode);
    const after = await snapshot(root);
    const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
    // The executable, and its directory (a rename changes the directory's mtime).
    assert.deepEqual(changed.sort(), ["usr/local/bin", "usr/local/bin/renew-certs"]);
    assert.deepEqual(r.commands, ["systemctl is-enabled renew-certs.timer", "systemctl is-active renew-certs.timer"]);
    assert.match(r.message, /^ {2}update {2}\/usr\/local\/bin\/renew-certs \(0755\) — from /m);
  } finally {
    running.kill("SIGKILL");
  }
});

test("killed right after writing the executable's temporary file, the next run removes it and finishes", async () => {
  const root = await hostRoot("cp-killed", true);
  assert.equal(install(root).status, 0);
  const stepLog = join(work, "killed.steps");
  await writeFile(stepLog, "");
  // The steps of an upgrade: the executable's temporary file is the first.
  const killed = install(root, v2, { RENEW_CERTS_TEST_KILL_AFTER_STEP: "1", RENEW_CERTS_TEST_STEP_LOG: stepLog });
  assert.equal(killed.status, -1, "killed by SIGKILL");
  assert.match(await readFile(stepLog, "utf8"), /^1 temp-written .*\/usr\/local\/bin\/renew-certs\n$/);
  const temps = (await readdir(join(root, "usr/local/bin"))).filter((n) => n.endsWith(".tmp"));
  assert.equal(temps.length, 1);
  assert.deepEqual(await readFile(join(root, HOST_PATHS.binary)), await readFile(v1), "the old executable is still in place");
  const again = install(root, v2);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual((await readdir(join(root, "usr/local/bin"))).sort(), ["other-tool", "renew-certs"]);
  assert.deepEqual(await readFile(join(root, HOST_PATHS.binary)), await readFile(v2));
});

test("uninstall removes the units, config.yaml and the executable, and nothing else; a second uninstall changes nothing", async () => {
  const root = await hostRoot("cp-uninstall", true);
  const pristine = await snapshot(root);
  assert.equal(install(root).status, 0);
  const r = step(root, ["uninstall-host"]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.commands, ["systemctl disable --now renew-certs.timer", "systemctl daemon-reload"]);
  for (const p of [HOST_PATHS.configFile, HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit, HOST_PATHS.binary, "/etc/renew-certs"]) assert.equal(existsSync(join(root, p)), false, p);
  const after = await snapshot(root);
  // What was there before is untouched; what stays besides is what a run writes into (backups, metrics).
  for (const [p, s] of Object.entries(pristine)) if (!/^(etc|etc\/systemd|etc\/systemd\/system|usr\/local\/bin|var|var\/lib|srv)$/.test(p)) assert.equal(after[p], s, p);
  const extra = Object.keys(after).filter((p) => !(p in pristine));
  assert.deepEqual(extra.sort(), ["etc/systemd/system/timers.target.wants", "srv", "srv/renew-certs", "srv/renew-certs/backups", "var/lib/node_exporter", "var/lib/node_exporter/textfile_collector"]);
  assert.match(r.message, /control-plane node: uninstalled\n/);
  const again = step(root, ["uninstall-host"]);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(again.commands, []);
  assert.match(again.message, /nothing of renew-certs was installed here, nothing changed/);
});

test("on a worker node the installer step installs the same timer (it runs the worker job there) and says it is a worker node", async () => {
  const root = await hostRoot("worker", false);
  const r = install(root);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(root, "etc/systemd/system/renew-certs.timer")), "the timer is installed");
  assert.ok(r.commands.some((c) => /enable --now renew-certs\.timer/.test(c)), r.commands.join("\n"));
  assert.match(r.message, /^renew-certs \S+ on node cp-1: worker node: installed or updated\n/);
});

test("a bad ConfigMap fails with exit 3 naming the file, writes nothing on the host, and says why in the termination message", async () => {
  const root = await hostRoot("cp-bad", true);
  const bad = join(work, "bad-config.yaml");
  await writeFile(bad, "certificateRenewInterval: soon\n");
  const before = await snapshot(root);
  const r = step(root, ["install-host", "--config", bad, "--binary", v1]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`configuration file ${bad} is invalid`));
  assert.match(r.message, new RegExp(`install-host failed: configuration file ${bad} is invalid \\(1 problem\\)`));
  assert.deepEqual(await snapshot(root), before);
  await rm(bad);
});

test("a report longer than the kubelet's 4096 bytes is cut on a line boundary, and says where the rest is", () => {
  const long = Array.from({ length: 200 }, (_, i) => `  keep    /etc/some/file-${i} — no change\n`).join("");
  const cut = terminationMessage(`headline\n${long}`);
  assert.ok(Buffer.byteLength(cut) <= 4096, String(Buffer.byteLength(cut)));
  assert.match(cut, /^headline\n/);
  assert.match(cut, /\n {2}keep {4}\/etc\/some\/file-\d+ — no change\n… \(cut; the whole report is in the container's log\)\n$/);
  assert.equal(terminationMessage("short\n"), "short\n");
});
