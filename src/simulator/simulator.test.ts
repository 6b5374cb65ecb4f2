import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile, appendFile } from "node:fs/promises";
import { connect } from "node:tls";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { simulatedHost, TEST_SIM } from "../../test/support/simulated.js";
import { reissueApiserver } from "../../test/support/reissue.js";
import { annotateManifest } from "../manifests/annotate.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { httpsGet } from "../kube/tls.js";
import { LOOPBACK_SERVER_NAME } from "./apiserver.js";

const KEY = "konvoy.d2iq.io/restartedAt";
const local = (port: number): { host: string; port: number } => ({ host: "127.0.0.1", port });
const manifest = (root: string, c: string): string => join(root, "etc/kubernetes/manifests", `${c}.yaml`);

/** The certificate served on a fresh connection (asking for `servername`, if given). */
function served(port: number, servername?: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    s.once("secureConnect", () => { const c = s.getPeerX509Certificate(); s.destroy(); if (c) resolve(c); else reject(new Error("no certificate")); });
    s.once("error", reject);
  });
}

async function eventually<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("the API server double answers the renewed admin.conf, refuses a certificate of another CA with 401, and lets anonymous clients read /livez only", async (t) => {
  const { root, ports } = await simulatedHost(t);
  const admin = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  const ok = await httpsGet({ endpoint: local(ports.apiserver), path: "/livez", verify: true, credentials: admin });
  assert.deepEqual([ok.status, ok.body], [200, "ok"]);
  const pki = join(root, "etc/kubernetes/pki");
  const foreign = { ...admin, certPem: await readFile(join(pki, "apiserver-etcd-client.crt"), "utf8"), keyPem: await readFile(join(pki, "apiserver-etcd-client.key"), "utf8") };
  assert.equal((await httpsGet({ endpoint: local(ports.apiserver), path: "/api/v1/nodes", verify: false, credentials: foreign })).status, 401);
  assert.equal((await httpsGet({ endpoint: local(ports.apiserver), path: "/livez", verify: false })).status, 200);
  assert.equal((await httpsGet({ endpoint: local(ports.apiserver), path: "/api/v1/nodes", verify: false })).status, 403);
});

test("the API server double reloads its serving certificate from disk without a restart, and its loopback certificate stays that of its process", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t);
  const pid = kubelet.running("kube-apiserver")!.process.pid;
  const startedAt = kubelet.running("kube-apiserver")!.startedAt;
  const loop = await served(ports.apiserver, LOOPBACK_SERVER_NAME);
  assert.match(loop.subject, /^CN=apiserver-loopback-client@\d{10}$/);
  const cnTime = Number(/@(\d+)/.exec(loop.subject)![1]) * 1000;
  assert.ok(Math.abs(cnTime - startedAt) < 5000, "the loopback certificate names the process's start time");
  assert.equal(Date.parse(loop.validFrom), Math.floor(cnTime / 1000) * 1000 - 3_600_000 + (Date.parse(loop.validFrom) % 1000), "NotBefore is one hour before the start");
  const renewed = await reissueApiserver(root);
  const after = await eventually("the renewed serving certificate", async () => {
    const c = await served(ports.apiserver);
    return c.fingerprint256 === renewed ? c : undefined;
  });
  assert.equal(after.fingerprint256, renewed);
  assert.equal(kubelet.running("kube-apiserver")!.process.pid, pid, "the same process");
  assert.equal(kubelet.restarts("kube-apiserver"), 0);
  assert.equal((await served(ports.apiserver, LOOPBACK_SERVER_NAME)).fingerprint256, loop.fingerprint256, "the loopback certificate is unchanged");
});

test("a changed manifest makes the kubelet double stop the old process with SIGTERM, wait out its grace period, then start a new one and report it in the mirror pod", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t);
  const admin = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  const old = kubelet.running("kube-apiserver")!;
  const loop = await served(ports.apiserver, LOOPBACK_SERVER_NAME);
  const written = Date.now();
  await annotateManifest(manifest(root, "kube-apiserver"), KEY, "1764300000.000001");
  // The old process stops listening at once but lives on until the grace period ends.
  await eventually("the old process to stop listening", async () => (await served(ports.apiserver).then(() => undefined, () => true)));
  assert.equal(old.gone(), false, "draining: still alive");
  const exit = await old.exited;
  assert.equal(exit.signal, "SIGKILL", "killed at the end of the grace period");
  assert.ok(Date.now() - written >= 30_000 * TEST_SIM.timeScale, "not before the grace period");
  const next = await eventually("a new loopback certificate", async () => {
    const c = await served(ports.apiserver, LOOPBACK_SERVER_NAME);
    return c.fingerprint256 !== loop.fingerprint256 ? c : undefined;
  });
  assert.ok(Number(/@(\d+)/.exec(next.subject)![1]) >= Math.floor(written / 1000));
  assert.notEqual(kubelet.running("kube-apiserver")!.process.pid, old.process.pid);
  const pod = await eventually("the mirror pod to show the new process", async () => {
    const r = await httpsGet({ endpoint: local(ports.apiserver), path: `/api/v1/namespaces/kube-system/pods/kube-apiserver-${kubelet.nodeName}`, verify: false, credentials: admin });
    const p = JSON.parse(r.body) as { metadata: { annotations: Record<string, string> }; status: { conditions: { type: string; status: string }[]; containerStatuses: { state: { running?: { startedAt: string } } }[] } };
    return p.metadata.annotations[KEY] === "1764300000.000001" && p.status.conditions.some((c) => c.type === "Ready" && c.status === "True") ? p : undefined;
  });
  assert.ok(Date.parse(pod.status.containerStatuses[0]!.state.running!.startedAt) >= Math.floor(written / 1000) * 1000);
  assert.equal(kubelet.restarts("kube-apiserver"), 1);
  assert.match(kubelet.log.join("\n"), /"SyncLoop REMOVE" source="file" pods=\["kube-system\/kube-apiserver-cp-1"\]/);
});

test("the controller-manager and scheduler doubles serve a new self-signed certificate naming their start after each restart", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t);
  const first = await served(ports.scheduler);
  assert.match(first.subject, /^CN=localhost@\d{10}$/);
  await annotateManifest(manifest(root, "kube-scheduler"), KEY, "1764300000.000001");
  const second = await eventually("a new scheduler process", async () => {
    const c = await served(ports.scheduler);
    return c.fingerprint256 !== first.fingerprint256 ? c : undefined;
  });
  const r = await httpsGet({ endpoint: local(ports.scheduler), path: "/healthz", verify: false });
  assert.deepEqual([r.status, r.body, r.fingerprint], [200, "ok", second.fingerprint256]);
  assert.equal(kubelet.restarts("kube-scheduler"), 1);
  assert.equal(kubelet.restarts("kube-controller-manager"), 0);
});

test("a component told to stay down crash-loops, an unhealthy one answers 500, and the kubelet double ignores dot-files", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t, { behaviour: (c, start) => (start === 0 ? "healthy" : c === "kube-scheduler" ? "down" : "unhealthy") });
  const dir = join(root, "etc/kubernetes/manifests");
  await writeFile(join(dir, ".kube-scheduler.yaml.renew-certs-0000.tmp"), "not even yaml: [");
  await kubelet.settled();
  assert.equal(kubelet.restarts("kube-scheduler"), 0, "a dot-file is not a manifest");
  await annotateManifest(join(dir, "kube-scheduler.yaml"), KEY, "1");
  await kubelet.settled();
  await annotateManifest(join(dir, "kube-controller-manager.yaml"), KEY, "1");
  await kubelet.settled();
  assert.deepEqual(kubelet.order, ["kube-scheduler", "kube-controller-manager"]);
  await assert.rejects(httpsGet({ endpoint: local(ports.scheduler), path: "/healthz", verify: false }), /ECONNREFUSED/);
  await eventually("the crash loop", async () => (/CrashLoopBackOff.*kube-scheduler-cp-1/.test(kubelet.log.join("\n")) ? true : undefined));
  await kubelet.running("kube-controller-manager")!.ready;
  assert.equal((await httpsGet({ endpoint: local(ports.controllerManager), path: "/healthz", verify: false })).status, 500);
});

test("a kubelet double that has not reached the API server since its start cannot replace a static pod until it is restarted", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t, {
    until: "started",
    // The kubelet's own client certificate is not one the API server accepts.
    prepare: async (r) => { await appendFile(join(r, "var/lib/kubelet/pki/kubelet-client-current.pem"), ""); await writeFile(join(r, "var/lib/kubelet/pki/kubelet-client-current.pem"), (await readFile(join(r, "etc/kubernetes/pki/apiserver-etcd-client.crt"), "utf8")) + (await readFile(join(r, "etc/kubernetes/pki/apiserver-etcd-client.key"), "utf8"))); },
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(kubelet.sourcesReady(), false);
  const loop = await served(ports.apiserver, LOOPBACK_SERVER_NAME);
  await annotateManifest(manifest(root, "kube-apiserver"), KEY, "1764300000.000001");
  await kubelet.settled();
  await new Promise((r) => setTimeout(r, 1000));
  assert.match(kubelet.log.join("\n"), /"Failed to delete pod" pod="kube-system\/kube-apiserver-cp-1" err="skipping delete because sources aren't ready yet"/);
  assert.equal((await served(ports.apiserver, LOOPBACK_SERVER_NAME)).fingerprint256, loop.fingerprint256, "still the old process");
  assert.equal(kubelet.restarts("kube-apiserver"), 0);
  await kubelet.restart();
  const next = await eventually("the new process after the kubelet's restart", async () => {
    const c = await served(ports.apiserver, LOOPBACK_SERVER_NAME);
    return c.fingerprint256 !== loop.fingerprint256 ? c : undefined;
  });
  assert.ok(next);
  assert.equal(kubelet.restarts("kube-apiserver"), 1);
});
