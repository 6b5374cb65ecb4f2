import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { METRICS, parseExposition, renderMetrics, writeMetrics, type RunMetrics } from "./metrics.js";

const runAt = new Date(Date.UTC(2026, 10, 28, 12, 0, 0, 500));
const base: RunMetrics = {
  certificates: [
    { name: "apiserver", ca: "ca", notAfter: new Date(Date.UTC(2027, 10, 28)) },
    { name: "etcd-server", ca: "etcd-ca", notAfter: new Date(Date.UTC(2027, 5, 1)) },
    { name: 'odd"name\\x', ca: "ca", notAfter: new Date(Date.UTC(2027, 0, 1)) },
    { name: "front-proxy-ca", ca: "front-proxy-ca", notAfter: new Date(Date.UTC(2035, 0, 1)), authority: true },
  ],
  runAt,
  success: true,
  cas: [{ name: "front-proxy-ca", renewalDue: new Date(Date.UTC(2034, 0, 1)), deadline: new Date(Date.UTC(2025, 0, 1)) }],
  renewedAt: runAt,
  result: { exitCode: 0, summary: "succeeded" },
  cluster: { oldCaNodes: 2, deadline: new Date(Date.UTC(2027, 0, 1)) },
};

test("the text file parses as the exposition format, with HELP and TYPE before each metric's samples", () => {
  const text = renderMetrics(base);
  const e = parseExposition(text);
  for (const name of Object.values(METRICS)) {
    assert.equal(e.type.get(name), "gauge", name);
    assert.ok(e.help.get(name), name);
    const firstSample = text.split("\n").findIndex((l) => l.startsWith(name));
    assert.ok(text.split("\n").indexOf(`# TYPE ${name} gauge`) < firstSample, `${name}: TYPE comes first`);
  }
  const expiry = e.samples.filter((s) => s.name === METRICS.expiry);
  assert.deepEqual(expiry.map((s) => s.labels), [{ name: "apiserver", ca: "ca" }, { name: "etcd-server", ca: "etcd-ca" }, { name: 'odd"name\\x', ca: "ca" }]);
  assert.equal(expiry[1]!.value, Date.UTC(2027, 5, 1) / 1000);
  assert.deepEqual(e.samples.filter((s) => s.name === METRICS.caExpiry).map((s) => [s.labels, s.value]), [[{ name: "front-proxy-ca" }, Date.UTC(2035, 0, 1) / 1000]], "a CA has its own expiry metric, not a certificate's");
  assert.equal(e.samples.find((s) => s.name === METRICS.lastRun)!.value, 1795867200.5);
  assert.equal(e.samples.find((s) => s.name === METRICS.lastRunSuccess)!.value, 1);
  assert.equal(e.samples.find((s) => s.name === METRICS.clusterOldCaNodes)!.value, 2);
  assert.equal(e.samples.find((s) => s.name === METRICS.clusterCaDeadline)!.value, Date.UTC(2027, 0, 1) / 1000);
  assert.equal(parseExposition(renderMetrics({ ...base, cluster: undefined })).samples.some((s) => s.name === METRICS.clusterOldCaNodes), false, "left out when the Nodes could not be listed");
  assert.equal(e.samples.find((s) => s.name === METRICS.lastRenewal)!.value, 1795867200.5);
  assert.deepEqual(e.samples.filter((s) => s.name === METRICS.lastRunExitCode).map((s) => [s.labels, s.value]), [[{ result: "succeeded" }, 0]]);
});

test("a run stopped by SIGTERM reports its exit code, 17, and what it means", () => {
  const e = parseExposition(renderMetrics({ ...base, success: false, renewedAt: undefined, result: { exitCode: 17, summary: "stopped by SIGTERM; the next run resumes where it stopped" } }));
  assert.equal(e.samples.find((s) => s.name === METRICS.lastRunSuccess)!.value, 0);
  assert.deepEqual(e.samples.filter((s) => s.name === METRICS.lastRunExitCode).map((s) => [s.labels, s.value]), [[{ result: "stopped by SIGTERM; the next run resumes where it stopped" }, 17]]);
});

test("a run that did not renew keeps the previous renewal time; a failed run reports 0", () => {
  const previous = renderMetrics(base);
  const later = new Date(runAt.getTime() + 86_400_000);
  const e = parseExposition(renderMetrics({ ...base, runAt: later, success: false, renewedAt: undefined }, previous));
  assert.equal(e.samples.find((s) => s.name === METRICS.lastRenewal)!.value, 1795867200.5);
  assert.equal(e.samples.find((s) => s.name === METRICS.lastRun)!.value, later.getTime() / 1000);
  assert.equal(e.samples.find((s) => s.name === METRICS.lastRunSuccess)!.value, 0);
});

test("without a previous renewal the renewal metric is left out, and a damaged old file is ignored", () => {
  for (const previous of [undefined, "garbage {{{\n"]) {
    const e = parseExposition(renderMetrics({ ...base, renewedAt: undefined }, previous));
    assert.equal(e.samples.some((s) => s.name === METRICS.lastRenewal), false);
    assert.equal(e.help.has(METRICS.lastRenewal), false);
  }
});

test("a malformed exposition line is rejected by the parser", () => {
  assert.throws(() => parseExposition("metric{a=\"b\" 1\n"), /line 1/);
  assert.throws(() => parseExposition("metric one\n"), /not a number/);
});

test("the metrics file is written atomically under --root, readable by node_exporter, keeping the last renewal", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-metrics-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const rel = "/var/lib/node_exporter/textfile_collector/renew_certs.prom";
  const file = await writeMetrics(root, rel, base);
  assert.equal(file, join(root, rel));
  assert.equal((await stat(file)).mode & 0o777, 0o644);
  await writeMetrics(root, rel, { ...base, renewedAt: undefined, runAt: new Date(runAt.getTime() + 1000) });
  const e = parseExposition(await readFile(file, "utf8"));
  assert.equal(e.samples.find((s) => s.name === METRICS.lastRenewal)!.value, 1795867200.5);
  assert.deepEqual(await readdir(dirname(file)), ["renew_certs.prom"], "no temporary file is left behind");
  assert.equal(await writeMetrics(root, "", base), undefined, "an empty metricsFile disables the file");
});

test("an unreadable old metrics file is an error naming it", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-metrics-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, "m.prom"), { recursive: true });
  await writeFile(join(root, "m.prom", "x"), "");
  await assert.rejects(writeMetrics(root, "m.prom", base), (e: Error) => e.message.includes(join(root, "m.prom")));
});

const here = dirname(fileURLToPath(import.meta.url));
const RULE = join(here, "../../../deploy/prometheus-rule.yaml");

test("the shipped PrometheusRule parses and alerts on a failed run, no run for 2 days, a certificate expiring within 14 days, a CA expiring within 30, a CA renewal overdue by 2 days and a CA deadline within 60", async () => {
  const rule = parse(await readFile(RULE, "utf8")) as { apiVersion: string; kind: string; spec: { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] } };
  assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(rule.kind, "PrometheusRule");
  const alerts = new Map(rule.spec.groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
  const expect: [string, string, RegExp][] = [
    ["RenewCertsLastRunFailed", METRICS.lastRunSuccess, /== 0$/],
    ["RenewCertsNotRunRecently", METRICS.lastRun, /> 2 \* 86400$/],
    ["RenewCertsCertificateExpiringSoon", METRICS.expiry, /< 14 \* 86400$/],
    ["RenewCertsCAExpiringSoon", METRICS.caExpiry, /< 30 \* 86400$/],
    ["RenewCertsCARenewalOverdue", METRICS.caRenewalDue, /> 2 \* 86400$/],
    ["RenewCertsCADeadlineNear", METRICS.caDeadline, /< 60 \* 86400 and .* > 0$/],
    ["RenewCertsNodesOnOldCA", METRICS.clusterOldCaNodes, /> 0$/],
    ["RenewCertsNodesOnOldCANearDeadline", METRICS.clusterCaDeadline, /< 7 \* 86400\)$/],
  ];
  assert.equal(alerts.size, expect.length);
  for (const [alert, metric, threshold] of expect) {
    const r = alerts.get(alert);
    assert.ok(r, alert);
    assert.match(r.expr, new RegExp(`\\b${metric}\\b`), `${alert} uses ${metric}`);
    assert.match(r.expr, threshold);
    assert.ok(["warning", "critical"].includes(r.labels.severity));
  }
});
