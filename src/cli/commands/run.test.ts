import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cli, cliAsync } from "../../../test/support/cli.js";
import { copySandbox, snapshot } from "../../../test/support/sandbox.js";

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;

const badIntervals: [string, RegExp][] = [
  ["-1", /--certificate-renew-interval: must be a whole number of days, from 0 to 3650 \(ten years\) \(got -1\)/],
  ["3651", /--certificate-renew-interval: must be a whole number of days, from 0 to 3650 \(ten years\) \(got 3651\)/],
  ["1.5", /--certificate-renew-interval: .*whole number/],
  ["360", /--certificate-renew-interval: must be less than 358 days \(got 360\): certificates are valid 365 days/],
  ["sixty", /--certificate-renew-interval/],
];

for (const [value, expect] of badIntervals) {
  test(`run refuses --certificate-renew-interval=${value} with exit code 3 and changes nothing`, async (t) => {
    const root = await copySandbox(t, ec);
    const before = await snapshot(root);
    const r = cli(["run", "--root", root, `--certificate-renew-interval=${value}`]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, expect);
    assert.deepEqual(await snapshot(root), before);
  });
}

test("run refuses --fallback-after-seconds past its bound and lockTimeoutSeconds: 1e9 in its file, with the range, exit 3, nothing changed", async (t) => {
  const root = await copySandbox(t, ec);
  const config = join(root, "config.yaml");
  await writeFile(config, "lockTimeoutSeconds: 1e9\n");
  const before = await snapshot(root);
  const flag = cli(["run", "--root", root, "--fallback-after-seconds=3601"]);
  assert.equal(flag.status, 3, flag.stderr);
  assert.match(flag.stderr, /^error: the command line is invalid \(1 problem\); fix it and run again:\n {2}--fallback-after-seconds: must be a whole number of seconds, from 1 to 3600 \(one hour\) \(got 3601\)\n$/);
  const file = cli(["run", "--root", root, "--config", config]);
  assert.equal(file.status, 3, file.stderr);
  assert.equal(file.stderr, `error: configuration file ${config} is invalid (1 problem); fix it and run again:\n  line 1: lockTimeoutSeconds: must be a whole number of seconds, from 0 to 86400 (one day) (got 1000000000)\n`);
  assert.deepEqual(await snapshot(root), before);
});

test("run refuses a configuration file with an unknown field, suggesting the right name", async (t) => {
  const root = await copySandbox(t, ec);
  const config = join(root, "config.yaml");
  await writeFile(config, "certificateRenewIntervall: 30\n");
  const r = cli(["run", "--root", root, "--config", config]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /config\.yaml is invalid[\s\S]*did you mean certificateRenewInterval\?/);
});

test("run --dry-run on a due sandbox prints the plan and writes nothing", async (t) => {
  const root = await copySandbox(t, ec);
  const before = await snapshot(root);
  const r = cli(["run", "--root", root, "--dry-run"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^due: 11 at least 60 days old \(admin\.conf, apiserver, apiserver-etcd-client and 8 more; the oldest, admin\.conf, is 300 days old\)$/m);
  assert.match(r.stdout, /would restart, in order: .*kube-apiserver\.yaml, .*kube-controller-manager\.yaml, .*kube-scheduler\.yaml/);
  assert.deepEqual(await snapshot(root), before);
});

test("run with an interval of 0 logs one line and exits 0", async (t) => {
  const root = await copySandbox(t, ec);
  const r = cli(["run", "--root", root, "--certificate-renew-interval=0", "--log-format", "json"]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split("\n").map((l) => JSON.parse(l) as { level: string; msg: string });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, "info");
  assert.match(lines[0]!.msg, /disabled/);
});

test("run on a directory that is not a control plane fails with one line and writes nothing there", async (t) => {
  const { mkdtemp, readdir, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-empty-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = cli(["run", "--root", dir]);
  assert.equal(r.status, 4);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /no kubeadm control plane under .*: .*pki\/ca\.crt not found; pass the right directory with --root/);
  assert.deepEqual(await readdir(dir), []);
});

for (const [what, prepare] of [
  ["no static pod manifest on disk", async (root: string) => { for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) await rm(join(root, "etc/kubernetes/manifests", `${c}.yaml`)); }],
  ["manifests: [] in the configuration", async (root: string) => { await writeFile(join(root, "renew-certs.yaml"), "manifests: []\n"); }],
] as const) {
  test(`run with ${what} renews nothing it cannot restart: exit 4 before the first write, no word of health`, async (t) => {
    const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
    await writeFile(join(root, "renew-certs.yaml"), "nodeName: cp-1\n");
    await prepare(root);
    const before = await snapshot(root);
    const r = cli(["run", "--root", root, "--config", join(root, "renew-certs.yaml")]);
    assert.equal(r.status, 4, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: no static pod manifest to restart in \S+\/etc\/kubernetes\/manifests \(manifests: .*\): run renews only what it can restart and prove; nothing was changed: fix manifests in the configuration, or renew without restarting with renew-certs renew all$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /healthy/);
    const after = await snapshot(root);
    assert.deepEqual([...after.keys()].filter((p) => !p.includes("renew_certs.prom")), [...before.keys()].filter((p) => !p.includes("renew_certs.prom")));
    for (const [p, f] of before) if (!p.includes("renew_certs.prom")) assert.equal(after.get(p)?.bytes, f.bytes, p);
  });
}

test("run --root DIR without --config reads DIR/etc/renew-certs/config.yaml, as status and doctor do", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  await mkdir(join(root, "etc/renew-certs"), { recursive: true });
  await writeFile(join(root, "etc/renew-certs/config.yaml"), "certificateRenewInterval: 0\n");
  const before = await snapshot(root);
  const r = cli(["run", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /disabled/);
  assert.match(cli(["status", "--root", root]).stdout, /disabled/);
  assert.deepEqual([...(await snapshot(root))].filter(([p]) => !p.includes("renew_certs.prom")), [...before].filter(([p]) => !p.includes("renew_certs.prom")));
  await writeFile(join(root, "etc/renew-certs/config.yaml"), "certificateRenewInterval: soon\n");
  const bad = cli(["run", "--root", root, "--dry-run"]);
  assert.equal(bad.status, 3, bad.stderr);
  assert.match(bad.stderr, new RegExp(`configuration file ${root}/etc/renew-certs/config\\.yaml`));
});

test("run --dry-run that refuses an input records no Event: a preview writes nothing, to the cluster neither", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  const pki = join(root, "etc/kubernetes/pki");
  await writeFile(join(pki, "apiserver.key"), await readFile(join(pki, "front-proxy-client.key")));
  const r = cli(["run", "--root", root, "--dry-run"]);
  assert.equal(r.status, 4, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /event/i);
});

test("run refuses --restart-mode=sometimes with exit code 3, naming the flag and the two modes, and changes nothing", async (t) => {
  const root = await copySandbox(t, ec);
  const before = await snapshot(root);
  const r = cli(["run", "--root", root, "--restart-mode=sometimes"]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /--restart-mode: must be all or minimal \(got "sometimes"\)/);
  assert.deepEqual(await snapshot(root), before);
});

test("run --restart-mode minimal --dry-run: kube-apiserver left running where its loopback certificate can be read, restarted (with the reason) where it cannot", async (t) => {
  const { simulatedHost } = await import("../../../test/support/simulated.js");
  const h = await simulatedHost(t, { ageDays: 300 });
  // The control plane's files (the doubles keep their own logs and store elsewhere under the root).
  const files = async () => [...(await snapshot(h.root))].filter(([p]) => p.startsWith("etc/")).map(([p, f]) => `${p}:${f.bytes}`).join("\n");
  const before = await files();
  // Not spawnSync: the kubelet double in this process answers its healthz meanwhile.
  const r = await cliAsync(["run", "--root", h.root, "--restart-mode", "minimal", "--dry-run"]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /kubelet is not running/);
  assert.match(r.stdout, /^would restart, in order: .*kube-controller-manager\.yaml, .*kube-scheduler\.yaml$/m);
  assert.match(r.stdout, /^would leave running and prove reloaded \(restart mode minimal\): .*kube-apiserver\.yaml$/m);
  assert.match(r.stderr, /kube-apiserver: reload \(restart mode minimal\): kube-apiserver v1\.31\.4 re-reads/);
  assert.equal(await files(), before);
  assert.equal((await snapshot(h.root)).has("var/lib/renew-certs/job.json"), false);
  // Nothing serves there: when the loopback certificate expires is unknown, so it is restarted.
  const root = await copySandbox(t, ec);
  const cold = cli(["run", "--root", root, "--restart-mode", "minimal", "--dry-run"]);
  assert.equal(cold.status, 0, cold.stderr);
  assert.match(cold.stdout, /^would restart, in order: .*kube-apiserver\.yaml, /m);
  assert.match(cold.stderr, /kube-apiserver: restart \(restart mode minimal\): kube-apiserver: its loopback certificate could not be read \(nothing answers for apiserver-loopback-client\), so when it expires is unknown: restart/);
});
