import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { reissueApiserver } from "../../test/support/reissue.js";
import { assignFreePorts } from "../../test/doubles/ports.js";
import { kubeletDoubleFor } from "../../test/doubles/kubelet.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { readManifest } from "../manifests/manifest.js";
import { credentialsFromKubeconfig, servedFingerprint } from "./health.js";
import { ComponentUnhealthyError, restartControlPlane, type RestartChecks } from "./restart.js";
import { RenewCertsError } from "../errors.js";

const ec = { keySpec: { type: "ec", curve: "P-256" } } as const;
const KEY = DEFAULT_SETTINGS.annotationKey;
const settings = { ...DEFAULT_SETTINGS };

const KUBE_PROXY = `apiVersion: v1
kind: Pod
metadata:
  name: kube-proxy
  namespace: kube-system
spec:
  containers:
  - command: [kube-proxy, --config=/var/lib/kube-proxy/config.conf]
    name: kube-proxy
`;

/** A sandbox with free ports, kube-proxy as a static pod, the kubelet test double running and a renewed API server certificate on disk. */
async function controlPlane(t: Parameters<typeof copySandbox>[0], behaviour?: Parameters<typeof kubeletDoubleFor>[1]["behaviour"]) {
  const root = await copySandbox(t, ec);
  const ports = await assignFreePorts(root);
  const manifests = join(root, "etc/kubernetes/manifests");
  await writeFile(join(manifests, "kube-proxy.yaml"), KUBE_PROXY);
  const kubelet = await kubeletDoubleFor(t, { root, ...(behaviour ? { behaviour } : {}) });
  const renewed = await reissueApiserver(root);
  const credentials = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  return { root, ports, manifests, kubelet, renewed, credentials };
}

test("each listed component is restarted once, in order, kube-apiserver first, and proven healthy", async (t) => {
  const { root, ports, manifests, kubelet, renewed, credentials } = await controlPlane(t);
  const etcdBefore = await readFile(join(manifests, "etcd.yaml"), "utf8");
  const log = memoryLogger();
  const results = await restartControlPlane({ root, settings: { ...settings, manifests: ["kube-scheduler", "kube-controller-manager", "kube-apiserver", "kube-proxy"] }, expectedApiserverFingerprint: renewed, credentials, log, timeoutMs: 20_000, intervalMs: 100 });
  await kubelet.settled();
  assert.deepEqual(results.map((r) => [r.component, r.check, r.healthy]), [
    ["kube-apiserver", "apiserver", true], ["kube-scheduler", "healthz", true], ["kube-controller-manager", "healthz", true], ["kube-proxy", "none", true],
  ]);
  assert.deepEqual(kubelet.order, ["kube-apiserver", "kube-scheduler", "kube-controller-manager", "kube-proxy"]);
  for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"]) {
    assert.equal(kubelet.restarts(c), 1, c);
    const m = await readManifest(join(manifests, `${c}.yaml`));
    assert.equal(m.annotations[KEY], results.find((r) => r.component === c)!.stamp);
    assert.match(m.annotations[KEY]!, /^\d{10}\.\d{6}$/);
  }
  assert.equal(await servedFingerprint({ host: "127.0.0.1", port: ports.apiserver }), renewed);
  assert.equal(await readFile(join(manifests, "etcd.yaml"), "utf8"), etcdBefore, "etcd is restarted only when configured");
  assert.equal(kubelet.restarts("etcd"), 0);
  assert.ok(log.lines.some((l) => /kube-proxy: no health check beyond the annotation/.test(l.msg)));
});

test("a component that never comes back stops the restart, and the error names it", async (t) => {
  const { root, manifests, kubelet, renewed, credentials } = await controlPlane(t, (c, start) => (c === "kube-controller-manager" && start > 0 ? "down" : "healthy"));
  const schedulerBefore = await readFile(join(manifests, "kube-scheduler.yaml"), "utf8");
  const err = await restartControlPlane({ root, settings, expectedApiserverFingerprint: renewed, credentials, log: memoryLogger(), timeoutMs: 1500, intervalMs: 100 }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ComponentUnhealthyError, String(err));
  assert.equal(err.code, "UNHEALTHY");
  assert.equal(err.component, "kube-controller-manager");
  assert.match(err.message, /^kube-controller-manager did not become healthy within 1\.5 s of its restart \(127\.0\.0\.1:\d+\): 127\.0\.0\.1:\d+\/healthz: ECONNREFUSED$/);
  assert.deepEqual(err.results.map((r) => [r.component, r.healthy]), [["kube-apiserver", true], ["kube-controller-manager", false]]);
  assert.ok(err.results[1]!.elapsedMs >= 1500);
  await kubelet.settled();
  assert.equal(await readFile(join(manifests, "kube-scheduler.yaml"), "utf8"), schedulerBefore, "nothing after the failed component is touched");
  assert.equal(kubelet.restarts("kube-scheduler"), 0);
});

test("kube-apiserver that comes back with another certificate than the expected one is not healthy", async (t) => {
  const { root, manifests, credentials } = await controlPlane(t);
  const kcmBefore = await readFile(join(manifests, "kube-controller-manager.yaml"), "utf8");
  await assert.rejects(
    restartControlPlane({ root, settings, expectedApiserverFingerprint: "00:11:22", credentials, log: memoryLogger(), timeoutMs: 1500, intervalMs: 100 }),
    (e: unknown) => e instanceof ComponentUnhealthyError && e.component === "kube-apiserver" && /serves another certificate than the renewed one/.test(e.message),
  );
  assert.equal(await readFile(join(manifests, "kube-controller-manager.yaml"), "utf8"), kcmBefore);
});

/** Probes that answer from a script, for tests without processes. */
function scripted(answers: Record<string, boolean[]>): Partial<RestartChecks> {
  const next = (c: string) => async () => {
    const healthy = answers[c]?.shift() ?? true;
    return { healthy, detail: healthy ? "ok" : "ECONNREFUSED" };
  };
  return { apiserver: (m) => next(m.component), healthz: (m) => next(m.component), served: async () => undefined };
}

test("a long wait shows in the journal as a line every 15 seconds, with an injected clock", async (t) => {
  const root = await copySandbox(t, ec);
  const clock = { t: 0, now: () => clock.t, sleep: async (ms: number) => { clock.t += ms; } };
  const log = memoryLogger();
  const results = await restartControlPlane({
    root, settings: { ...settings, manifests: ["kube-apiserver"] }, expectedApiserverFingerprint: "x", credentials: { certPem: "", keyPem: "", caPem: "" },
    log, clock, checks: scripted({ "kube-apiserver": Array<boolean>(40).fill(false) }), now: () => 1764300000123.456,
  });
  assert.equal(results[0]!.elapsedMs, 40_000);
  assert.equal(results[0]!.stamp, "1764300000.123456");
  assert.deepEqual(log.lines.filter((l) => l.msg.startsWith("waiting for")).map((l) => l.fields["elapsed"]), ["15s", "30s"]);
});

test("configured manifests that do not exist are logged and skipped", async (t) => {
  const root = await copySandbox(t, ec);
  const log = memoryLogger();
  const results = await restartControlPlane({ root, settings, expectedApiserverFingerprint: "x", credentials: { certPem: "", keyPem: "", caPem: "" }, log, checks: scripted({}) });
  assert.deepEqual(results.map((r) => r.component), ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]);
  assert.ok(log.lines.some((l) => l.msg === "kube-proxy: no static pod manifest, not restarted"));
});

test("an unparseable manifest stops the restart with a MANIFEST error, and leaves it byte-identical", async (t) => {
  const root = await copySandbox(t, ec);
  const file = join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml");
  await writeFile(file, "apiVersion: v1\nmetadata: [\n");
  const dir = join(root, "etc/kubernetes/manifests");
  const before = await snapshot(dir);
  await assert.rejects(
    restartControlPlane({ root, settings, expectedApiserverFingerprint: "x", credentials: { certPem: "", keyPem: "", caPem: "" }, log: memoryLogger(), checks: scripted({}), manifests: [{ component: "kube-controller-manager", file }] }),
    (e: unknown) => e instanceof RenewCertsError && e.code === "MANIFEST" && e.message.includes(file),
  );
  assert.deepEqual(await snapshot(dir), before);
});
