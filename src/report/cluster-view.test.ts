import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { X509Certificate } from "node:crypto";
import { copySandbox } from "../../test/support/sandbox.js";
import { startApiDouble } from "../../test/support/api.js";
import { cliAsync } from "../../test/support/cli.js";
import { assignFreePorts } from "../simulator/ports.js";
import { readManifest } from "../manifests/manifest.js";
import { EXIT } from "../cli/exit-codes.js";
import { reportAnnotations } from "./annotations.js";
import { atRisk, clusterView, renderClusterView, type CaFacts } from "./cluster-view.js";

const DAY = 86_400_000;
const OLD = "AA:".repeat(31) + "AA";
const now = new Date(Date.UTC(2026, 11, 7, 21, 0, 0));

/** A Node with the report of a host whose last run was `daysAgo` days before `at`, trusting `ca`. */
function reported(name: string, at: Date, daysAgo: number, ca: string, role: "control-plane" | "worker" = "worker") {
  const a = reportAnnotations({
    version: "0.1.0", role, lastRun: new Date(at.getTime() - daysAgo * DAY), exitCode: 0, caFingerprint: ca, kubeconfigCaFingerprint: ca,
    oldest: { name: "kubelet-client-current", notAfter: new Date(at.getTime() + 200 * DAY) }, kubeletClientExpiry: new Date(at.getTime() + 200 * DAY),
  });
  return { apiVersion: "v1", kind: "Node", metadata: { name, annotations: Object.fromEntries(Object.entries(a).filter(([, v]) => v !== null)) as Record<string, string> } };
}

test("the view judges each node: a fresh report on the current CA is fine; no report, a stale one, or the old CA would break at the deadline", () => {
  const ca: CaFacts = { current: { fingerprint: "BB:01", notAfter: new Date(now.getTime() + 3650 * DAY), source: "pki/ca.crt" }, previous: { fingerprint: OLD, notAfter: now }, deadline: { at: now, source: "record" } };
  const v = clusterView([reported("fine", now, 0.5, "bb:01"), reported("stale", now, 3, "BB:01"), reported("old", now, 0, OLD), { metadata: { name: "bare" } }, reported("odd", now, 0, "CC:02")], ca, now);
  assert.deepEqual(v.nodes.map((n) => [n.node, n.ca, n.risks.length]), [["bare", "unknown", 1], ["fine", "current", 0], ["odd", "other", 1], ["old", "old", 1], ["stale", "current", 1]]);
  assert.deepEqual(atRisk(v).map((n) => n.node), ["bare", "odd", "old", "stale"]);
  assert.match(renderClusterView(v), /^stale +worker +2026-12-04 21:00Z \(stale\) +exit 0 +2027-06-25 21:00Z +yes +2027-06-25 21:00Z$/m);
  assert.equal(clusterView([reported("stale", now, 3, "BB:01")], ca, now, 4).nodes[0]?.stale, false, "--stale-after moves the line");
});

test("status --cluster on a cluster of three nodes with mixed states: the table, the JSON and exit 20 name the stale node and the one on the old CA", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  await assignFreePorts(root);
  const m = await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"));
  const api = await startApiDouble(t, root, m.advertiseEndpoint.port);
  const ca = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/ca.crt")));
  const at = new Date();
  // The CA's record, as `ca renew ca` leaves it: the certificate it replaced and the deadline.
  const deadline = new Date(at.getTime() + 20 * DAY);
  await mkdir(join(root, "var/lib/renew-certs"), { recursive: true });
  await writeFile(join(root, "var/lib/renew-certs/ca-ca.json"), JSON.stringify({
    ca: "ca", renewedAt: at.toISOString(), fingerprint256: ca.fingerprint256, serial: ca.serialNumber, notAfter: new Date(ca.validTo).toISOString(),
    previous: { fingerprint256: OLD, serial: "01", notAfter: deadline.toISOString() }, deadline: deadline.toISOString(),
  }));
  api.state.nodes.put(reported("cp-1", at, 0, ca.fingerprint256, "control-plane"));
  api.state.nodes.put(reported("worker-stale", at, 5, ca.fingerprint256));
  api.state.nodes.put(reported("worker-old", at, 0, OLD));

  const table = await cliAsync(["status", "--cluster", "--root", root]);
  assert.equal(table.status, EXIT.NODES_AT_RISK, table.stderr);
  assert.equal(EXIT.NODES_AT_RISK, 20);
  const lines = table.stdout.split("\n");
  assert.match(lines[0] ?? "", /^NODE +ROLE +LAST RUN +RESULT +OLDEST EXPIRY +TRUSTS CURRENT CA +KUBELET CERT EXPIRY$/);
  assert.match(lines[1] ?? "", /^cp-1 +control-plane +\S+ \S+ +exit 0 +\S+ \S+ +yes +\S+ \S+$/);
  assert.match(lines[2] ?? "", /^worker-old +worker +.* +no \(old\) +/);
  assert.match(lines[3] ?? "", /^worker-stale +worker +\S+ \S+ \(stale\) +exit 0 .* yes /);
  assert.match(table.stdout, new RegExp(`CA deadline: ${deadline.toISOString().slice(0, 16).replace("T", " ")}Z \\(the previous CA certificate's NotAfter, from the CA's record\\)`));
  assert.match(table.stdout, /would break at the deadline \(2 of 3\):\n {2}worker-old: trusts the old CA certificate\n {2}worker-stale: stale report \(last run 5 days ago\)\n/);

  const json = await cliAsync(["status", "--cluster", "--root", root, "-o", "json"]);
  assert.equal(json.status, 20, json.stderr);
  const data = JSON.parse(json.stdout) as { atRisk: string[]; nodes: { node: string; trustsCurrentCa: boolean; ca: string; report: { exitCode: number } | null }[]; ca: { deadline: { at: string } } };
  assert.deepEqual(data.atRisk, ["worker-old", "worker-stale"]);
  assert.deepEqual(data.nodes.map((n) => [n.node, n.trustsCurrentCa, n.ca, n.report?.exitCode]), [["cp-1", true, "current", 0], ["worker-old", false, "old", 0], ["worker-stale", true, "current", 0]]);
  assert.equal(data.ca.deadline.at, deadline.toISOString());

  // Fixed: both report afresh on the current CA: exit 0. A longer --stale-after alone would also clear the stale one.
  api.state.nodes.put(reported("worker-old", at, 0, ca.fingerprint256));
  const relaxed = await cliAsync(["status", "--cluster", "--root", root, "--stale-after", "7"]);
  assert.equal(relaxed.status, 0, relaxed.stdout + relaxed.stderr);
  assert.match(relaxed.stdout, /none would break at the deadline/);
});

test("status --cluster from a workstation: --kubeconfig with a client certificate reads the Nodes through the kubeconfig's server and judges them by cluster-info's CA; a bad --stale-after is a usage error", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  const api = await startApiDouble(t, root, 0);
  api.state.nodes.put(reported("cp-1", new Date(), 0, "00:11"));
  const kubeconfig = join(root, "workstation.conf");
  const admin = await readFile(join(root, "etc/kubernetes/admin.conf"), "utf8");
  await writeFile(kubeconfig, admin.replace(/server: \S+/, `server: https://127.0.0.1:${api.port}`), { mode: 0o600 });
  const r = await cliAsync(["status", "--cluster", "--kubeconfig", kubeconfig, "-o", "json"]);
  assert.equal(r.status, 20, r.stderr);
  const data = JSON.parse(r.stdout) as { ca: { current: { source: string } }; nodes: { ca: string }[] };
  // The API server double seeds kube-public/cluster-info as kubeadm init does: the cluster's own word on its CA comes first.
  assert.equal(data.ca.current.source, "kube-public/cluster-info");
  assert.deepEqual(data.nodes.map((n) => n.ca), ["other"]);
  const bad = await cliAsync(["status", "--cluster", "--kubeconfig", kubeconfig, "--stale-after", "soon"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--stale-after must be a number of days above 0 \(got soon\)/);
});

test("status --cluster with a token kubeconfig sends the token and no client certificate; a missing kubeconfig is exit 4 naming it; an API server that does not answer is exit 21", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  const pki = join(root, "etc/kubernetes/pki");
  const seen: { auth: string | undefined; cert: boolean }[] = [];
  // A stand-in for an API server that authenticates by token (the double takes certificates only).
  const server = createServer({ cert: await readFile(join(pki, "apiserver.crt")), key: await readFile(join(pki, "apiserver.key")), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    seen.push({ auth: req.headers.authorization, cert: Object.keys((req.socket as import("node:tls").TLSSocket).getPeerCertificate()).length > 0 });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "NodeList", apiVersion: "v1", items: [reported("w-1", new Date(), 0, "00:11")] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => { if (server.listening) server.close(); });
  const ca = Buffer.from(await readFile(join(pki, "ca.crt"))).toString("base64");
  const kubeconfig = join(root, "token.conf");
  await writeFile(kubeconfig, [
    "apiVersion: v1", "kind: Config", "current-context: ci",
    "clusters:", `- name: c`, `  cluster:`, `    certificate-authority-data: ${ca}`, `    server: https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    "contexts:", "- name: ci", "  context:", "    cluster: c", "    user: ci", "users:", "- name: ci", "  user:", "    token: abc.def", "",
  ].join("\n"), { mode: 0o600 });
  const r = await cliAsync(["status", "--cluster", "--kubeconfig", kubeconfig]);
  assert.equal(r.status, 20, r.stderr);
  assert.match(r.stdout, /^w-1 +worker +/m);
  assert.ok(seen.length > 0 && seen.every((s) => s.auth === "Bearer abc.def" && !s.cert), JSON.stringify(seen));

  const exec = join(root, "exec.conf");
  await writeFile(exec, (await readFile(kubeconfig, "utf8")).replace("    token: abc.def", "    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}"));
  const refused = await cliAsync(["status", "--cluster", "--kubeconfig", exec]);
  assert.equal(refused.status, 4, refused.stderr);
  assert.match(refused.stderr, /exec\.conf: user ci has neither a client certificate nor a token \(exec plugins and auth providers are not supported\)/);
  const missing = await cliAsync(["status", "--cluster", "--kubeconfig", join(root, "nope.conf")]);
  assert.equal(missing.status, 4, missing.stderr);
  assert.match(missing.stderr, /nope\.conf/);
  server.close();
  await new Promise((resolve) => server.once("close", resolve));
  const down = await cliAsync(["status", "--cluster", "--kubeconfig", kubeconfig]);
  assert.equal(down.status, 21, down.stderr);
  assert.match(down.stderr, /could not list the Nodes through .*token\.conf: 127\.0\.0\.1:\d+: ECONNREFUSED/);
});
