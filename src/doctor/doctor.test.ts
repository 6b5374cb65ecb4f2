import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile, readFile } from "node:fs/promises";
import { join, dirname } from "node:path";
import { copySandbox } from "../../test/support/sandbox.js";
import { simulatedHost } from "../../test/support/simulated.js";
import { readManifest } from "../manifests/manifest.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { hostFiles } from "../host/files.js";
import { annotateManifest, setAnnotation } from "../manifests/annotate.js";
import { certificateMetrics, writeMetrics } from "../run/metrics.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { scanInventory } from "../inventory/scan.js";
import { kubeClient } from "../kube/client.js";
import { sameFingerprint, servedIdentity } from "../kube/tls.js";
import { X509Certificate } from "node:crypto";
import type { SystemdHost } from "../host/systemd.js";
import { runDoctor, type DoctorOptions } from "./doctor.js";

const KEY = DEFAULT_SETTINGS.annotationKey;
const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
// The sandboxes' certificates are issued by the real clock, so doctor's is the real one, on a
// whole minute (for exact "in 2 h 12 min") after the sandboxes are made.
const NOW = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 60_000);
const DATE = "\\w{3} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC";
const HOUR = 3_600_000;
/** The service's properties after a run that ended 2 hours before NOW with `status`. */
const ranAt = (status: number): Record<string, string> => ({
  ActiveState: status === 0 ? "inactive" : "failed", Result: status === 0 ? "success" : "exit-code", ExecMainCode: "1", ExecMainStatus: String(status),
  ExecMainStartTimestamp: `@${(NOW.getTime() - 2 * HOUR) / 1000 - 40}`, InactiveEnterTimestamp: `@${(NOW.getTime() - 2 * HOUR) / 1000}`,
  ExecStartPre: "{ path=/usr/local/bin/renew-certs ; argv[]=/usr/local/bin/renew-certs install --directories-only ; ignore_errors=no ; start_time=[@1] ; stop_time=[@1] ; pid=1 ; code=exited ; status=0 }",
});

/** systemd as systemctl answers on a host where the timer is enabled and next elapses 2 h 12 min after NOW. */
function fakeSystemd(service: Record<string, string> = ranAt(0)): SystemdHost {
  const reply = (stdout: string) => Promise.resolve({ status: 0, stdout, stderr: "" });
  return {
    controls: () => true,
    systemctl: (args) => args[0] === "is-enabled" ? reply("enabled\n")
      : args[0] === "show" ? reply(Object.entries(service).map(([k, v]) => `${k}=${v}\n`).join(""))
      : reply(JSON.stringify([{ next: (NOW.getTime() + 2 * HOUR + 12 * 60_000) * 1000, last: (NOW.getTime() - 2 * HOUR - 40_000) * 1000, unit: "renew-certs.timer", activates: "renew-certs.service" }])),
    checkCalendar: () => Promise.resolve({ valid: true, normalized: "*-*-* 00:00:00", nextElapse: undefined }),
  };
}
const systemd = fakeSystemd();

/**
 * A host as renew-certs leaves it after a good run: units and config installed, metrics fresh,
 * manifests annotated and run by the simulator's kubelet double (which reports the mirror pods to
 * its API server double), every component started after its files were written.
 */
async function healthyHost(t: Parameters<typeof copySandbox>[0], o: { ageDays?: number; lastRunDaysAgo?: number } = {}) {
  const { root, kubelet } = await simulatedHost(t, {
    ageDays: o.ageDays ?? 5,
    prepare: async (r) => {
      for (const f of hostFiles({ ...DEFAULT_SETTINGS })) {
        await mkdir(dirname(join(r, f.path)), { recursive: true });
        await writeFile(join(r, f.path), f.content, { mode: f.mode });
      }
      for (const [i, c] of COMPONENTS.entries()) await annotateManifest(join(r, "etc/kubernetes/manifests", `${c}.yaml`), KEY, `17643000${i}0.123456`);
    },
  });
  const node = kubelet.nodeName;
  // The mirror pods carry the annotations once the kubelet has reported them.
  const admin = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  const m = await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"));
  const api = kubeClient(m.advertiseEndpoint, admin);
  for (const deadline = Date.now() + 60_000; ;) {
    const pods = await Promise.all(COMPONENTS.map((c) => api.get<{ metadata: { annotations?: Record<string, string> } }>(`/api/v1/namespaces/kube-system/pods/${c}-${node}`).catch(() => undefined)));
    if (pods.every((p) => p?.metadata.annotations?.[KEY])) break;
    if (Date.now() > deadline) throw new Error("the kubelet double did not report its mirror pods");
    await new Promise((r) => setTimeout(r, 50));
  }
  const inv = await scanInventory(root);
  await writeMetrics(root, DEFAULT_SETTINGS.metricsFile, { certificates: certificateMetrics(inv), runAt: new Date(NOW.getTime() - 2 * HOUR - (o.lastRunDaysAgo ?? 0) * 86_400_000), success: true, renewedAt: NOW });
  const options: DoctorOptions = { root, systemd, now: NOW };
  return { root, kubelet, options, node };
}

test("doctor on a healthy host finds nothing to fix", async (t) => {
  const { options } = await healthyHost(t);
  const report = await runDoctor(options);
  assert.deepEqual(report.findings.filter((f) => f.severity !== "OK"), []);
  assert.equal(report.result, "OK");
  assert.deepEqual(report.findings.map((f) => f.check).slice(0, 6), ["timer installed", "units match the configuration", "timer enabled", "next run", "last run", "metrics fresh"]);
  for (const c of COMPONENTS) assert.ok(report.findings.some((f) => f.check === `${c} runs the files on disk` && f.severity === "OK"), c);
  assert.equal(report.findings.filter((f) => / mirror pod$/.test(f.check) && f.severity === "OK").length, 3);
});

test("doctor on a host with an old certificate says it is due and what runs it", async (t) => {
  const { options } = await healthyHost(t, { ageDays: 300 });
  const report = await runDoctor(options);
  const f = report.findings.find((x) => x.check === "certificate ages")!;
  assert.equal(f.severity, "WARN");
  assert.match(f.detail, /^due now: 11 at least 60 days old \(admin\.conf, apiserver, apiserver-etcd-client and 8 more; the oldest, admin\.conf, is 300 days old\)$/);
  assert.match(f.fix, /renew-certs run/);
});

test("doctor on a host whose mirror pod lacks the manifest's annotation fails and names the kubelet", async (t) => {
  const { root, kubelet, options, node } = await healthyHost(t);
  kubelet.setFrozen(true); // a kubelet that does not act on the change
  const file = join(root, "etc/kubernetes/manifests/kube-scheduler.yaml");
  await writeFile(file, setAnnotation(await readFile(file, "utf8"), KEY, "1764399999.000001", file));
  const report = await runDoctor(options);
  const f = report.findings.find((x) => x.check === `kube-scheduler-${node} mirror pod`)!;
  assert.equal(f.severity, "FAIL");
  assert.match(f.detail, /the manifest's is "1764399999\.000001": the kubelet has not restarted it/);
  assert.equal(report.result, "FAIL");
});

test("doctor on a host with a missing annotation warns that renew-certs has not restarted it", async (t) => {
  const { root, options } = await healthyHost(t);
  const file = join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml");
  await writeFile(file, (await readFile(file, "utf8")).replace(/^ {4}konvoy\.d2iq\.io\/restartedAt: .*\n/m, ""));
  const report = await runDoctor(options);
  const f = report.findings.find((x) => x.check === "kube-controller-manager annotated")!;
  assert.equal(f.severity, "WARN");
  assert.match(f.detail, /has no konvoy\.d2iq\.io\/restartedAt/);
});

test("doctor on a host whose metrics file is stale warns that the timer has not run", async (t) => {
  const { options } = await healthyHost(t, { lastRunDaysAgo: 3 });
  const report = await runDoctor(options);
  const f = report.findings.find((x) => x.check === "metrics fresh")!;
  assert.equal(f.severity, "WARN");
  assert.match(f.detail, new RegExp(`was written ${DATE} \\(3 days ago\\): the timer has not run since`));
  assert.match(f.fix, /systemctl list-timers renew-certs\.timer/);
});

test("after a renewal without restarts, doctor finds the controller-manager and scheduler on their old client certificates, and the API server on the renewed one it re-read", async (t) => {
  const { root, options } = await healthyHost(t);
  const { renewCertificates } = await import("../renewal/renew.js");
  const { memoryLogger } = await import("../log/logger.js");
  await renewCertificates({ root, names: ["all"], log: memoryLogger() });
  // The API server double re-reads its files, as the real one does: once it serves the renewed one.
  const m = await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"));
  const renewed = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/apiserver.crt"))).fingerprint256;
  for (const deadline = Date.now() + 30_000; !sameFingerprint((await servedIdentity(m.advertiseEndpoint).catch(() => undefined))?.fingerprint, renewed);) {
    if (Date.now() > deadline) throw new Error("the API server double did not serve the renewed certificate within 30 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  const report = await runDoctor(options);
  const by = (c: string) => report.findings.find((x) => x.check === `${c} runs the files on disk`)!;
  assert.equal(by("kube-apiserver").severity, "OK", by("kube-apiserver").detail);
  for (const c of ["kube-controller-manager", "kube-scheduler"]) {
    assert.equal(by(c).severity, "FAIL");
    assert.match(by(c).detail, /^its process started .*, before etc\/kubernetes\/(controller-manager|scheduler)\.conf was written .*: it still uses the old client certificate$/);
  }
});

test("doctor shows an interrupted run and what the next run will do", async (t) => {
  const { root, options } = await healthyHost(t);
  const { writeRecord } = await import("../renewal/intent.js");
  await writeRecord(join(root, "var/lib/renew-certs"), { job: "run", phase: "proven", started: NOW.toISOString(), backup: join(root, "var/lib/renew-certs/backups/x"), renewed: ["apiserver"], apiserver: { renewed: "AA", previous: "BB" }, restart: [{ component: "kube-apiserver", file: "etc/kubernetes/manifests/kube-apiserver.yaml" }, { component: "kube-scheduler", file: "etc/kubernetes/manifests/kube-scheduler.yaml" }], steps: [{ component: "kube-apiserver", file: "etc/kubernetes/manifests/kube-apiserver.yaml", stamp: "1", annotation: "1", writtenAt: 0, before: {}, proven: { by: "loopback certificate", detail: "", at: 0, identity: {} } }] } as never);
  const f = (await runDoctor(options)).findings.find((x) => x.check === "interrupted run")!;
  assert.equal(f.severity, "WARN");
  assert.match(f.detail, /^the last run stopped while kube-apiserver restarted and proven \(recorded in .*job\.json\); the next run will restart kube-scheduler and the rest$/);
});

test("the doctor command exits 10 on a failure and prints JSON for machines", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  const { cli } = await import("../../test/support/cli.js");
  const r = cli(["doctor", "--root", root, "-o", "json"]);
  assert.equal(r.status, 10, r.stderr);
  const report = JSON.parse(r.stdout) as { result: string; findings: { check: string; severity: string; fix: string }[] };
  assert.equal(report.result, "FAIL");
  assert.deepEqual(report.findings[0], { check: "timer installed", severity: "FAIL", detail: report.findings[0]!.fix === "renew-certs install" ? (report.findings[0] as unknown as { detail: string }).detail : "", fix: "renew-certs install" });
});

test("doctor says when the timer runs next and how the last run ended, as times people read", async (t) => {
  const { options } = await healthyHost(t);
  const detail = async (check: string, o: DoctorOptions = options): Promise<[string, string]> => {
    const f = (await runDoctor(o)).findings.find((x) => x.check === check)!;
    return [f.severity, f.detail.replace(new RegExp(DATE, "g"), "DATE")];
  };
  assert.deepEqual(await detail("next run"), ["OK", "DATE (in 2 h 12 min)"]);
  assert.deepEqual(await detail("last run"), ["OK", "DATE (2 h 0 min ago): succeeded (exit 0)"]);
  assert.deepEqual(await detail("last run", { ...options, systemd: fakeSystemd(ranAt(7)) }),
    ["FAIL", "DATE (2 h 0 min ago): failed with exit 7 (the control plane did not come back healthy; the previous files were restored)"]);
  const pre = { ...ranAt(0), ActiveState: "failed", Result: "exit-code", ExecStartPre: ranAt(0)["ExecStartPre"]!.replace("status=0", "status=3") };
  assert.deepEqual(await detail("last run", { ...options, systemd: fakeSystemd(pre) }),
    ["FAIL", "DATE (2 h 0 min ago): failed before the run: install --directories-only: exit 3 (bad configuration)"]);
  // After a reboot systemd has forgotten: the metrics file remembers.
  const never = { ActiveState: "inactive", Result: "success", ExecMainStatus: "0", ExecMainStartTimestamp: "", InactiveEnterTimestamp: "" };
  const [severity, text] = await detail("last run", { ...options, systemd: fakeSystemd(never) });
  assert.equal(severity, "OK");
  assert.match(text, /^DATE \(2 h 0 min ago\): succeeded \(from .*renew_certs\.prom\)$/);
});

test("doctor fails when the installed service cannot write the configured backupDir or would lose it, and warns when the units are only behind", async (t) => {
  const { root, options } = await healthyHost(t);
  const config = join(root, "etc/renew-certs/config.yaml");
  const original = await readFile(config, "utf8");
  await writeFile(config, original.replace(/^backupDir: .*$/m, "backupDir: /srv/backups"));
  let f = (await runDoctor(options)).findings.find((x) => x.check === "units match the configuration")!;
  assert.deepEqual([f.severity, f.fix], ["FAIL", "renew-certs install"]);
  assert.match(f.detail, /renew-certs\.service cannot write \/srv\/backups \(backupDir\): it was made for another configuration/);
  await writeFile(config, original.replace(/^backupDir: .*$/m, "backupDir: /tmp/backups"));
  f = (await runDoctor(options)).findings.find((x) => x.check === "units match the configuration")!;
  assert.equal(f.severity, "FAIL");
  assert.match(f.detail, /^backupDir puts files in \/tmp\/backups, inside \/tmp, which is private to renew-certs\.service/);
  await writeFile(config, original.replace(/^schedule: .*$/m, "schedule: weekly"));
  f = (await runDoctor(options)).findings.find((x) => x.check === "units match the configuration")!;
  assert.equal(f.severity, "WARN");
  assert.match(f.detail, /renew-certs\.timer differs from what \/etc\/renew-certs\/config\.yaml asks for/);
});
