// install --directories-only, what renew-certs.service runs before each run (ExecStartPre=+), on
// a --root sandbox. The same under a real systemd: test/systemd/systemd-real.test.ts.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "../../test/support/cli.js";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { needTools } from "../../test/support/tools.js";
import { HOST_PATHS } from "../config/settings.js";

const METRICS_DIR = "var/lib/node_exporter/textfile_collector";
const mode = async (f: string): Promise<number> => (await stat(f)).mode & 0o7777;
const missing = async (f: string): Promise<boolean> => stat(f).then(() => false, () => true);

/** A sandbox with renew-certs installed, its configuration setting backupDir to /srv/renew-certs/backups. */
async function installed(t: TestContext): Promise<string> {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-bin-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const binary = join(dir, "renew-certs");
  await writeFile(binary, "#!/bin/sh\n");
  await chmod(binary, 0o755);
  await mkdir(join(root, "etc/renew-certs"));
  await writeFile(join(root, HOST_PATHS.configFile), "backupDir: /srv/renew-certs/backups\n");
  const r = cli(["install", "--root", root, "--binary", binary]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ {2}create {2}\/var\/lib\/node_exporter\/textfile_collector\/ \(0755\) — for metricsFile$/m);
  assert.match(r.stdout, /^ {2}create {2}\/srv\/renew-certs\/backups\/ \(0700\) — for backupDir$/m);
  return root;
}

test("install creates the directories a run writes: the metrics directory 0755 and a backupDir that did not exist 0700", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const root = await installed(t);
  assert.equal(await mode(join(root, METRICS_DIR)), 0o755);
  assert.equal(await mode(join(root, "var/lib/node_exporter")), 0o755);
  assert.equal(await mode(join(root, "srv/renew-certs/backups")), 0o700);
  assert.match(await readFile(join(root, HOST_PATHS.serviceUnit), "utf8"), /^ReadWritePaths=\/etc\/kubernetes -\/var\/lib\/kubelet\/pki -\/root\/\.kube -\/var\/lib\/node_exporter\/textfile_collector -\/srv\/renew-certs\/backups$/m);
  assert.match(cli(["install", "--root", root]).stdout, /keep {4}\/srv\/renew-certs\/backups\/ — exists \(backupDir\)[\s\S]*no change/);
});

test("install --directories-only creates the directories again when they are gone, and says nothing when they are there", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const root = await installed(t);
  await rm(join(root, "var/lib/node_exporter"), { recursive: true });
  await rm(join(root, "srv"), { recursive: true });
  const r = cli(["install", "--directories-only", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, [
    "info: created /var/lib/node_exporter (0755): a run writes into it",
    "info: created /var/lib/node_exporter/textfile_collector (0755): a run writes into it",
    "info: created /srv (0755): a run writes into it",
    "info: created /srv/renew-certs (0755): a run writes into it",
    "info: created /srv/renew-certs/backups (0700): a run writes into it",
    "",
  ].join("\n"));
  assert.equal(await mode(join(root, "srv/renew-certs/backups")), 0o700);
  const again = cli(["install", "--directories-only", "--root", root]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stderr + again.stdout, "");
});

test("install --directories-only refuses a backupDir the installed unit cannot write, in one line with exit 3, and changes nothing", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const root = await installed(t);
  const config = join(root, HOST_PATHS.configFile);
  await writeFile(config, (await readFile(config, "utf8")).replace(/^backupDir: \/srv\/renew-certs\/backups$/m, "backupDir: /data/backups"));
  const before = await snapshot(root);
  const r = cli(["install", "--directories-only", "--root", root]);
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stderr.split("\n").length, 2, r.stderr);
  assert.match(r.stderr, /^error: \/etc\/systemd\/system\/renew-certs\.service cannot write \/data\/backups \(backupDir\): it was installed for another configuration than .*\/etc\/renew-certs\/config\.yaml, and the rest of the file system is read-only to it; run renew-certs install to update the unit\n$/);
  assert.ok(await missing(join(root, "data")), "nothing created");
  assert.deepEqual(await snapshot(root), before);
  // install makes a unit that can: then the directory is made.
  assert.equal(cli(["install", "--root", root]).status, 0);
  assert.equal(cli(["install", "--directories-only", "--root", root]).status, 0);
  assert.equal(await mode(join(root, "data/backups")), 0o700);
});

test("install --directories-only warns when the units differ from the configuration in what they can still run with", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const root = await installed(t);
  const config = join(root, HOST_PATHS.configFile);
  await writeFile(config, (await readFile(config, "utf8")).replace(/^healthTimeoutSeconds: 300$/m, "healthTimeoutSeconds: 60"));
  const r = cli(["install", "--directories-only", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "warn: /etc/systemd/system/renew-certs.service differs from what /etc/renew-certs/config.yaml asks for (it changed after install, or renew-certs was upgraded): run renew-certs install to update the units\n");
  const flag = cli(["install", "--directories-only", "--root", root, "--schedule", "weekly"]);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /^error: --directories-only takes no other option than --root \(got --schedule\)/);
});

test("install and install --directories-only refuse a backupDir in /tmp, where each run's files are lost, in one line with exit 3", async (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const root = await installed(t);
  const config = join(root, HOST_PATHS.configFile);
  await writeFile(config, (await readFile(config, "utf8")).replace(/^backupDir: .*$/m, "backupDir: /tmp/renew-certs"));
  const before = await snapshot(root);
  for (const args of [["install"], ["install", "--directories-only"]]) {
    const r = cli([...args, "--root", root]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr, `error: configuration file ${config}: backupDir puts files in /tmp/renew-certs, inside /tmp, which is private to renew-certs.service (PrivateTmp=yes) and removed after each run: choose another directory, such as /var/lib/renew-certs/backups\n`);
  }
  assert.deepEqual(await snapshot(root), before);
  assert.ok(await missing(join(root, "tmp/renew-certs")));
});
