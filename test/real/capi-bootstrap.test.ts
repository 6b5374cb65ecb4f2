import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { copyFile, chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { patchDocuments } from "../../src/capi/patch.js";
import { hostFiles } from "../../src/host/files.js";
import { HOST_PATHS } from "../../src/config/settings.js";
import { playCloudInit, type BootstrapSpec } from "../doubles/cloud-init.js";
import { needTools, run } from "../support/tools.js";

const KCP = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata:
  name: cp
spec:
  version: v1.32.0
  kubeadmConfigSpec:
    preKubeadmCommands:
    - echo site-setup
`;

function patchedSpec(intervalDays = 60): BootstrapSpec {
  const out = patchDocuments(KCP, { intervalDays, agent: { kind: "preinstalled" } }).output;
  return (parse(out) as { spec: { kubeadmConfigSpec: BootstrapSpec } }).spec.kubeadmConfigSpec;
}

async function machine(t: TestContext, withExecutable: boolean): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-capi-host-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  if (withExecutable) {
    // What the machine image provides: an executable at the host path (a stub will do for verify).
    await mkdir(join(root, "usr/local/bin"), { recursive: true });
    await writeFile(join(root, "usr/local/bin/renew-certs"), "#!/bin/sh\nexit 0\n");
    await chmod(join(root, "usr/local/bin/renew-certs"), 0o755);
  }
  // systemd-analyze verify --root resolves every unit inside the root: it needs the targets the
  // units are ordered against by default (sysinit, basic, shutdown) and timers.target; a real
  // image has them. They are copied from the host, which has systemd installed.
  const units = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(join(d, "sysinit.target")));
  assert.ok(units, "systemd's unit directory");
  await mkdir(join(root, "usr/lib/systemd/system"), { recursive: true });
  for (const u of ["sysinit.target", "basic.target", "shutdown.target", "timers.target", "network-online.target", "multi-user.target"]) {
    if (existsSync(join(units, u))) await copyFile(join(units, u), join(root, "usr/lib/systemd/system", u));
  }
  return root;
}

/** systemd-analyze verify on the installed units, inside `root` (so ExecStart= resolves there). */
function verify(root: string): ReturnType<typeof run> {
  // --man=no: Documentation=man:renew-certs(8) is checked against the host's man pages otherwise.
  return run("systemd-analyze", ["verify", "--man=no", `--root=${root}`, HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit]);
}

test("a patched control plane, played as cloud-init plays it, installs units that pass systemd-analyze verify and enables the timer", async (t) => {
  if (!needTools(t, "systemd-analyze", "sh")) return;
  const root = await machine(t, true);
  const played = await playCloudInit(root, patchedSpec());
  assert.equal(played.status, 0, played.stderr);
  assert.ok(played.kubeadmRan);
  assert.deepEqual(played.systemctl, ["daemon-reload", "enable --now renew-certs.timer"]);
  for (const f of hostFiles({ ...(await import("../../src/config/settings.js")).DEFAULT_SETTINGS, manifests: [...(await import("../../src/config/settings.js")).DEFAULT_SETTINGS.manifests] })) {
    assert.equal(await readFile(join(root, f.path), "utf8"), f.content, f.path);
    assert.equal((await stat(join(root, f.path))).mode & 0o777, f.mode);
  }
  const v = verify(root);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stderr.trim(), "", "systemd-analyze verify has nothing to say");
});

test("systemd-analyze verify in such a root does catch a broken timer (the check above is not vacuous)", async (t) => {
  if (!needTools(t, "systemd-analyze", "sh")) return;
  const root = await machine(t, true);
  await playCloudInit(root, patchedSpec());
  const timer = join(root, HOST_PATHS.timerUnit);
  await writeFile(timer, (await readFile(timer, "utf8")).replace(/^OnCalendar=.*$/m, "OnCalendar=not-a-calendar"));
  const v = verify(root);
  assert.notEqual(v.status, 0);
  assert.match(v.stderr, /calendar/i);
});

test("without the executable in the machine image the bootstrap stops before kubeadm, and nothing is enabled", async (t) => {
  if (!needTools(t, "sh")) return;
  const root = await machine(t, false);
  const played = await playCloudInit(root, patchedSpec());
  assert.equal(played.status, 1);
  assert.equal(played.kubeadmRan, false);
  assert.deepEqual(played.systemctl, []);
  assert.match(played.stderr, /\/usr\/local\/bin\/renew-certs is missing or does not run: build it into the machine image/);
});

test("interval 0 leaves a bootstrap that runs kubeadm and installs nothing", async (t) => {
  if (!needTools(t, "sh")) return;
  const root = await machine(t, false);
  const spec = (parse(patchDocuments(patchDocuments(KCP, { intervalDays: 60, agent: { kind: "preinstalled" } }).output, { intervalDays: 0, agent: { kind: "preinstalled" } }).output) as { spec: { kubeadmConfigSpec: BootstrapSpec } }).spec.kubeadmConfigSpec;
  const played = await playCloudInit(root, spec);
  assert.equal(played.status, 0, played.stderr);
  assert.ok(played.kubeadmRan);
  assert.deepEqual(played.systemctl, []);
  assert.equal(existsSync(join(root, HOST_PATHS.timerUnit)), false);
});
