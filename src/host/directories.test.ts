import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { RenewCertsError } from "../errors.js";
import { renderServiceUnit } from "./files.js";
import { directoryProblem, ensureDirectory, readWritePaths, serviceDirectories, unwritableDirectories } from "./directories.js";

const settings = (o: Partial<Settings> = {}): Settings => ({ ...DEFAULT_SETTINGS, ...o });

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-dirs-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o7777;

test("with the defaults the service writes the node_exporter directory; the backups are in its state directory", () => {
  assert.deepEqual(serviceDirectories(settings()), [{ path: "/var/lib/node_exporter/textfile_collector", mode: 0o755, setting: "metricsFile" }]);
  assert.deepEqual(readWritePaths(settings()), ["/etc/kubernetes", "-/var/lib/kubelet/pki", "-/root/.kube", "-/var/lib/node_exporter/textfile_collector"]);
});

test("a backupDir outside the state directory and /etc/kubernetes is one more writable directory, and metrics off is one less", () => {
  assert.deepEqual(serviceDirectories(settings({ backupDir: "/srv/renew-certs//backups/", metricsFile: "" })), [{ path: "/srv/renew-certs/backups", mode: 0o700, setting: "backupDir" }]);
  assert.deepEqual(serviceDirectories(settings({ backupDir: "/var/lib/renew-certs/old", metricsFile: "/var/lib/renew-certs/m.prom" })), []);
  assert.deepEqual(serviceDirectories(settings({ backupDir: "/etc/kubernetes/backups", metricsFile: "" })), []);
  assert.deepEqual(serviceDirectories(settings({ backupDir: "/var/lib/renew-certs-other", metricsFile: "" })).map((d) => d.path), ["/var/lib/renew-certs-other"], "a sibling with the same prefix is not inside");
});

test("a unit made for another backupDir or metrics directory cannot write the configured ones; its own directories it can", () => {
  const installed = renderServiceUnit(settings());
  assert.deepEqual(unwritableDirectories(installed, settings()), []);
  assert.deepEqual(unwritableDirectories(installed, settings({ backupDir: "/var/lib/renew-certs/elsewhere" })), [], "inside the StateDirectory");
  assert.deepEqual(unwritableDirectories(installed, settings({ backupDir: "/srv/backups", metricsFile: "/var/lib/prometheus/node-exporter/renew_certs.prom" })).map((d) => d.setting), ["metricsFile", "backupDir"]);
  assert.deepEqual(unwritableDirectories(renderServiceUnit(settings({ backupDir: "/srv" })), settings({ backupDir: "/srv/backups" })), [], "inside a writable directory");
  assert.deepEqual(unwritableDirectories("[Service]\nExecStart=/bin/true\n", settings()).map((d) => d.path), ["/var/lib/node_exporter/textfile_collector"]);
});

test("a directory is created with its parents 0755 and itself at its mode, whatever the umask", async (t) => {
  const dir = await tempDir(t);
  const old = process.umask(0o077);
  let created: string[];
  try {
    created = await ensureDirectory(join(dir, "var/lib/backups"), 0o700);
  } finally {
    process.umask(old);
  }
  assert.deepEqual(created, [join(dir, "var"), join(dir, "var/lib"), join(dir, "var/lib/backups")]);
  assert.equal(await mode(join(dir, "var")), 0o755);
  assert.equal(await mode(join(dir, "var/lib")), 0o755);
  assert.equal(await mode(join(dir, "var/lib/backups")), 0o700);
  assert.deepEqual(await ensureDirectory(join(dir, "var/lib/backups"), 0o755), [], "an existing directory is left as it is");
  assert.equal(await mode(join(dir, "var/lib/backups")), 0o700);
});

test("a file where a directory belongs is one clear error, and nothing is created", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "var"));
  await writeFile(join(dir, "var/lib"), "not a directory");
  await assert.rejects(ensureDirectory(join(dir, "var/lib/node_exporter/textfile_collector"), 0o755), (e: unknown) =>
    e instanceof RenewCertsError && e.code === "ROOT" && e.message === `${join(dir, "var/lib")} is not a directory, but renew-certs writes into ${join(dir, "var/lib/node_exporter/textfile_collector")}: move it away, or change the setting in the configuration file`);
});

test("a backupDir or metrics file where the service loses its files after each run is a problem that says where instead", () => {
  assert.equal(directoryProblem(settings()), undefined);
  assert.equal(directoryProblem(settings({ backupDir: "/srv/backups", metricsFile: "/var/lib/prometheus/node-exporter/renew_certs.prom" })), undefined);
  assert.equal(directoryProblem(settings({ backupDir: "/tmp/backups" })),
    "backupDir puts files in /tmp/backups, inside /tmp, which is private to renew-certs.service (PrivateTmp=yes) and removed after each run: choose another directory, such as /var/lib/renew-certs/backups");
  assert.match(directoryProblem(settings({ metricsFile: "/var/tmp/m/renew_certs.prom" }))!, /^metricsFile puts files in \/var\/tmp\/m, inside \/var\/tmp, /);
  assert.match(directoryProblem(settings({ backupDir: "/run/renew-certs/b" }))!, /inside \/run\/renew-certs, which is the service's RuntimeDirectory, removed when each run ends/);
  assert.equal(directoryProblem(settings({ backupDir: "/tmpfoo" })), undefined, "a sibling with the same prefix is not inside");
});
