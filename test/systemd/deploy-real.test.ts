// The DaemonSet's installer step against a real systemd, run the way the pod runs it: a Debian host
// booted by systemd-nspawn (systemd as PID 1), a control plane made by `renew-certs sandbox` in it,
// and the image from `npm run image` unpacked (skopeo, umoci) into a directory that stands in for
// the container. Its init container is played by a private mount namespace in which the host's
// root is bind-mounted at /host, the host's /proc at /proc (hostPID) and the ConfigMap's file at
// its mount path, then chroot into that directory: the image's own renew-certs and nsenter do the
// rest. Then the timer starts the service, and the uninstaller removes what was installed.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { needTools, run } from "../support/tools.js";
import { builtDistribution } from "../support/dist.js";
import { bootContainer, type Container, type ExecResult } from "./container.js";
import { debianRoot } from "./debian-root.js";
import { resolveSettings } from "../../src/config/load.js";
import { hostFiles, renderConfigFile } from "../../src/host/files.js";
import { HOST_PATHS } from "../../src/config/settings.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
/** The unpacked image's root inside the host, standing in for the container's root. */
const POD = "/var/lib/pod-rootfs";
const DIST = "/mnt/renew-certs";

function canRun(t: TestContext): boolean {
  if (!needTools(t, "debootstrap", "systemd-nspawn", "nsenter", "skopeo", "umoci")) return false;
  if (process.getuid?.() === 0) return true;
  if (process.env["CI"] === "true") assert.fail("booting a container needs root: CI runs as root");
  t.skip("needs root (systemd-nspawn)");
  return false;
}

const ok = (r: ExecResult | { status: number; stdout: string; stderr: string }, what: string): string => {
  assert.equal(r.status, 0, `${what} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("the DaemonSet's installer step, run from the image against a host with a real systemd: install, nothing on the second run, the timer starts the service, uninstall", { timeout: 1_200_000 }, async (t) => {
  if (!canRun(t)) return;
  const work = await mkdtemp(join(tmpdir(), "renew-certs-deploy-systemd-"));
  process.once("exit", () => rmSync(work, { recursive: true, force: true }));
  const dist = await builtDistribution();
  const archive = join(work, "image.tar");
  ok(run(process.execPath, [join(REPO, "scripts/image.mjs"), "--exe", join(dist, "renew-certs"), "--out", archive], { cwd: REPO }), "npm run image");
  ok(run("skopeo", ["copy", "-q", `oci-archive:${archive}`, `oci:${join(work, "oci")}:dev`]), "skopeo copy");
  ok(run("umoci", ["unpack", "--image", `${join(work, "oci")}:dev`, join(work, "bundle")]), "umoci unpack");
  const rootfs = join(work, "bundle/rootfs");
  // The mount points and the file the kubelet would provide in the container.
  for (const d of ["host", "proc", "dev", "etc/renew-certs-deploy"]) await mkdir(join(rootfs, d), { recursive: true });
  await writeFile(join(rootfs, "dev/termination-log"), "");
  // The ConfigMap: what deploy prints for these settings (no random delay: the timer's catch-up starts at once).
  const settings = await resolveSettings({ flags: { randomizedDelaySeconds: 0 } });
  await writeFile(join(rootfs, "etc/renew-certs-deploy/config.yaml"), renderConfigFile(settings));
  t.diagnostic("image unpacked");

  const image = await debianRoot((l) => t.diagnostic(l));
  const c: Container = await bootContainer({
    image, name: `renew-certs-deploy-${process.pid}`, consoleFile: join(work, "console.log"),
    binds: [{ host: rootfs, container: POD }, { host: dist, container: DIST, readOnly: true }],
  });
  t.after(() => c.stop());
  const exec = (args: string[]): Promise<ExecResult> => c.exec(args);
  const show = async (unit: string, ...props: string[]): Promise<Record<string, string>> =>
    Object.fromEntries(ok(await exec(["systemctl", "show", unit, ...props.map((p) => `--property=${p}`)]), "systemctl show").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  /** The init container: a private mount namespace, the host's root and /proc mounted, chroot into the image. */
  const initContainer = async (step: string): Promise<{ r: ExecResult; message: string }> => {
    await writeFile(join(rootfs, "dev/termination-log"), "");
    const args = `deploy ${step} --host-root /host${step === "install-host" ? " --config /etc/renew-certs-deploy/config.yaml" : ""} --termination-log /dev/termination-log`;
    const script = `mount --rbind / ${POD}/host && mount --rbind /proc ${POD}/proc && exec chroot ${POD} /usr/local/bin/renew-certs ${args}`;
    const r = await c.exec(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], { env: { NODE_NAME: "cp-1", PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" } });
    return { r, message: await readFile(join(rootfs, "dev/termination-log"), "utf8") };
  };
  const fileState = async (): Promise<string> => ok(await c.sh(`cd / && stat -c '%n %s %a %i %Y' ${[HOST_PATHS.configFile, HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit, HOST_PATHS.binary].join(" ")} && sha256sum ${HOST_PATHS.binary} /etc/systemd/system/renew-certs.*`), "stat");

  // A control plane whose certificates are 10 days old: a run finds nothing due and exits 0.
  ok(await exec([`${DIST}/renew-certs`, "sandbox", "/var/tmp/cp", "--age-days", "10"]), "sandbox");
  ok(await c.sh("cp -a /var/tmp/cp/. / && rm -rf /var/tmp/cp"), "copy the sandbox to /");
  const pki = ok(await c.sh("cd / && find etc/kubernetes -type f -print0 | sort -z | xargs -0 sha256sum"), "pki");

  await t.test("the first run installs the units install writes, the image's executable, and starts the timer", async () => {
    const { r, message } = await initContainer("install-host");
    ok(r, "install-host");
    assert.match(message, /^renew-certs \S+ on node cp-1: control-plane node: installed or updated\n/);
    assert.match(message, /run {5}systemctl enable --now renew-certs\.timer\n/);
    for (const f of hostFiles(settings)) assert.equal(await readFile(c.path(f.path), "utf8"), f.content, f.path);
    assert.deepEqual(await readFile(c.path(HOST_PATHS.binary)), await readFile(join(rootfs, "usr/local/bin/renew-certs")));
    assert.deepEqual(await show("renew-certs.timer", "ActiveState", "UnitFileState"), { ActiveState: "active", UnitFileState: "enabled" });
    assert.equal((await show("renew-certs.service", "LoadState"))["LoadState"], "loaded");
  });

  await t.test("the second run (a pod restart) changes nothing and restarts nothing", async () => {
    const files = await fileState();
    const timer = await show("renew-certs.timer", "ActiveEnterTimestampMonotonic", "InvocationID");
    const { r, message } = await initContainer("install-host");
    ok(r, "install-host again");
    assert.match(message, /control-plane node: already installed as configured, nothing changed\n/);
    assert.equal(await fileState(), files);
    assert.deepEqual(await show("renew-certs.timer", "ActiveEnterTimestampMonotonic", "InvocationID"), timer);
  });

  await t.test("the timer starts the service, which runs the installed executable and exits 0", async () => {
    // A daily timer whose last run was two days ago catches up at once when started (Persistent=true).
    ok(await c.sh("systemctl stop renew-certs.timer && touch -d @$(( $(date +%s) - 172800 )) /var/lib/systemd/timers/stamp-renew-certs.timer && systemctl start renew-certs.timer"), "backdate the timer");
    let p: Record<string, string> = {};
    for (let i = 0; i < 600; i++) {
      p = await show("renew-certs.service", "ActiveState", "Result", "ExecMainStatus", "ExecMainExitTimestampMonotonic", "InvocationID");
      if (p["ExecMainExitTimestampMonotonic"] !== "0" && p["ActiveState"] !== "activating") break;
      await sleep(500);
    }
    assert.deepEqual([p["Result"], p["ExecMainStatus"]], ["success", "0"], JSON.stringify(p));
    const status = (await exec(["systemctl", "status", "renew-certs.service", "--no-pager", "-n", "0"])).stdout;
    assert.match(status, /TriggeredBy: .*renew-certs\.timer/);
    const journal = ok(await exec(["journalctl", `_SYSTEMD_INVOCATION_ID=${p["InvocationID"]}`, "-o", "cat", "--no-pager"]), "journalctl");
    assert.match(journal, /not due: the oldest certificate, .* is 10 days old/);
  });

  await t.test("the uninstaller removes the units, the configuration and the executable, and leaves the PKI", async () => {
    const { r, message } = await initContainer("uninstall-host");
    ok(r, "uninstall-host");
    assert.match(message, /control-plane node: uninstalled\n/);
    assert.match(message, /run {5}systemctl disable --now renew-certs\.timer/);
    for (const p of [HOST_PATHS.configFile, HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit, HOST_PATHS.binary]) assert.equal(existsSync(c.path(p)), false, p);
    assert.equal((await show("renew-certs.timer", "LoadState"))["LoadState"], "not-found");
    assert.equal(ok(await c.sh("cd / && find etc/kubernetes -type f -print0 | sort -z | xargs -0 sha256sum"), "pki"), pki);
    assert.ok((await stat(c.path("/var/lib/renew-certs"))).isDirectory(), "the state directory stays");
  });
});
