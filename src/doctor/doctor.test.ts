import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile, readFile } from "node:fs/promises";
import { join, dirname } from "node:path";
import { copySandbox } from "../../test/support/sandbox.js";
import { startKubeApi } from "../../test/doubles/kube-api.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { hostFiles } from "../host/files.js";
import { annotateManifest, setAnnotation } from "../manifests/annotate.js";
import { certificateMetrics, writeMetrics } from "../run/metrics.js";
import { servedFingerprint, credentialsFromKubeconfig } from "../run/health.js";
import { scanInventory } from "../inventory/scan.js";
import { kubeClient } from "../coordination/kube-client.js";
import type { SystemdHost } from "../host/systemd.js";
import { runDoctor, type DoctorOptions } from "./doctor.js";

const KEY = DEFAULT_SETTINGS.annotationKey;
const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const systemd: SystemdHost = {
  controls: () => true,
  systemctl: (args) => Promise.resolve(args[0] === "is-enabled"
    ? { status: 0, stdout: "enabled\n", stderr: "" }
    : { status: 0, stdout: "Sun 2026-11-29 00:12:00 UTC 21h left Sat 2026-11-28 00:05:00 UTC 2h ago renew-certs.timer renew-certs.service\n", stderr: "" }),
  checkCalendar: () => Promise.resolve({ valid: true, normalized: "*-*-* 00:00:00", nextElapse: undefined }),
};

/**
 * A host as renew-certs leaves it after a good run: units and config installed, metrics fresh,
 * manifests annotated, mirror pods (in the API server test double) equal, the API server serving
 * the certificate on disk (the double serves pki/apiserver.crt).
 */
async function healthyHost(t: Parameters<typeof copySandbox>[0], o: { ageDays?: number; lastRunDaysAgo?: number } = {}) {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: o.ageDays ?? 5 });
  for (const f of hostFiles({ ...DEFAULT_SETTINGS })) {
    await mkdir(dirname(join(root, f.path)), { recursive: true });
    await writeFile(join(root, f.path), f.content, { mode: f.mode });
  }
  const api = await startKubeApi(root);
  t.after(() => api.close());
  const node = DEFAULT_SETTINGS.nodeName || (await import("node:os")).hostname();
  for (const [i, c] of COMPONENTS.entries()) {
    const stamp = `17643000${i}0.123456`;
    const file = join(root, "etc/kubernetes/manifests", `${c}.yaml`);
    await annotateManifest(file, KEY, stamp);
    api.state.pods.push({ metadata: { name: `${c}-${node}`, namespace: "kube-system", labels: { component: c }, annotations: { [KEY]: stamp } } });
  }
  const inv = await scanInventory(root);
  await writeMetrics(root, DEFAULT_SETTINGS.metricsFile, { certificates: certificateMetrics(inv), runAt: new Date(Date.now() - (o.lastRunDaysAgo ?? 0) * 86_400_000), success: true, renewedAt: new Date() });
  const creds = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  const options: DoctorOptions = {
    root, systemd,
    api: () => Promise.resolve(kubeClient({ host: "127.0.0.1", port: api.port }, creds)),
    served: () => servedFingerprint({ host: "127.0.0.1", port: api.port }),
  };
  return { root, api, options, node };
}

test("doctor on a healthy host finds nothing to fix", async (t) => {
  const { options } = await healthyHost(t);
  const report = await runDoctor(options);
  assert.deepEqual(report.findings.filter((f) => f.severity !== "OK"), []);
  assert.equal(report.result, "OK");
  assert.deepEqual(report.findings.map((f) => f.check).slice(0, 5), ["timer installed", "timer enabled", "next run", "last run", "metrics fresh"]);
  assert.ok(report.findings.some((f) => f.check === "served certificate" && f.severity === "OK"));
  assert.equal(report.findings.filter((f) => / mirror pod$/.test(f.check) && f.severity === "OK").length, 3);
});

test("doctor on a host with an old certificate says it is due and what runs it", async (t) => {
  const { options } = await healthyHost(t, { ageDays: 300 });
  const report = await runDoctor(options);
  const f = report.findings.find((x) => x.check === "certificate ages")!;
  assert.equal(f.severity, "WARN");
  assert.match(f.detail, /^due now: .* is 300 days old, the interval is 60 days/);
  assert.match(f.fix, /renew-certs run/);
});

test("doctor on a host whose mirror pod lacks the manifest's annotation fails and names the kubelet", async (t) => {
  const { root, api, options, node } = await healthyHost(t);
  const file = join(root, "etc/kubernetes/manifests/kube-scheduler.yaml");
  await writeFile(file, setAnnotation(await readFile(file, "utf8"), KEY, "1764399999.000001", file));
  const report = await runDoctor(options);
  const f = report.findings.find((x) => x.check === `kube-scheduler-${node} mirror pod`)!;
  assert.equal(f.severity, "FAIL");
  assert.match(f.detail, /the manifest's is "1764399999\.000001": the kubelet has not restarted it/);
  assert.equal(report.result, "FAIL");
  api.state.pods.splice(0, api.state.pods.length);
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
  assert.match(f.detail, /is 3 days old: the timer has not run since/);
  assert.match(f.fix, /systemctl list-timers renew-certs\.timer/);
});

test("doctor finds the API server still serving the old certificate after a renewal", async (t) => {
  const { root, options } = await healthyHost(t);
  const { renewCertificates } = await import("../renewal/renew.js");
  const { memoryLogger } = await import("../log/logger.js");
  await renewCertificates({ root, names: ["apiserver"], log: memoryLogger() });
  const report = await runDoctor(options);
  const f = report.findings.find((x) => x.check === "served certificate")!;
  assert.equal(f.severity, "FAIL");
  assert.match(f.detail, /serves another certificate than .*apiserver\.crt: kube-apiserver has not been restarted since the renewal/);
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
