import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLogger } from "../log/logger.js";
import { parseManifest } from "../manifests/manifest.js";
import { newProcessEvidence, type IdentityProbes, type MirrorPod } from "./identity.js";
import type { TlsIdentity } from "../kube/tls.js";
import type { ComponentStep } from "./state.js";
import { proveRestart, type Probes } from "./prove.js";

const T = Date.UTC(2026, 11, 1, 9, 12, 3);
const manifest = (component: string) => parseManifest(`apiVersion: v1
kind: Pod
metadata:
  name: ${component}
  namespace: kube-system
spec:
  containers:
  - command: [${component}, --secure-port=${component === "kube-apiserver" ? 6443 : 10259}]
    name: ${component}
`, `/etc/kubernetes/manifests/${component}.yaml`);
const tls = (fp: string, startedAt: number | undefined, cn = "apiserver-loopback-client"): TlsIdentity => ({ fingerprint: fp, subject: `CN=${cn}${startedAt ? `@${startedAt / 1000}` : ""}`, validFrom: T - 3_600_000, validTo: T + 365 * 86_400_000, startedAt });
const step = (o: Partial<ComponentStep> = {}): ComponentStep => ({ component: "kube-apiserver", file: "etc/kubernetes/manifests/kube-apiserver.yaml", stamp: "1764580323.000001", annotation: "1764580323.000001", writtenAt: T + 60_000, before: { tls: tls("AA", T) }, ...o });
const probes = (o: { tls?: TlsIdentity; pod?: MirrorPod; procs?: { pid: number; startedAt: number }[] }): IdentityProbes => ({
  tls: () => Promise.resolve(o.tls),
  mirrorPod: () => Promise.resolve(o.pod),
  processes: (program) => (o.procs ?? []).map((p) => ({ ...p, program })),
});
const opts = (p: IdentityProbes) => ({ probes: p, nodeName: "cp-1", annotationKey: "konvoy.d2iq.io/restartedAt" });

test("an unchanged loopback certificate is the old process, and the evidence says when that one started", async () => {
  const e = await newProcessEvidence(step(), manifest("kube-apiserver"), opts(probes({ tls: tls("AA", T) })));
  assert.equal(e.proven, false);
  assert.equal(e.detail, "still the process started 09:12:03 (loopback certificate unchanged)");
});

test("a new loopback certificate proves a new kube-apiserver process", async () => {
  const e = await newProcessEvidence(step(), manifest("kube-apiserver"), opts(probes({ tls: tls("BB", T + 90_000) })));
  assert.deepEqual([e.proven, e.by], [true, "loopback certificate"]);
  assert.match(e.detail, /^loopback certificate changed: CN=apiserver-loopback-client@\d+ \(was CN=apiserver-loopback-client@\d+\)$/);
});

test("a component that was down before its restart is proven only by a certificate naming a start after the change", async () => {
  const down = step({ before: {} });
  assert.equal((await newProcessEvidence(down, manifest("kube-apiserver"), opts(probes({ tls: tls("CC", T) })))).proven, false, "started before the change: a crash-looping old process");
  assert.equal((await newProcessEvidence(down, manifest("kube-apiserver"), opts(probes({ tls: tls("CC", T + 61_000) })))).proven, true);
  assert.equal((await newProcessEvidence(down, manifest("kube-apiserver"), opts(probes({ tls: tls("CC", undefined) })))).proven, false, "a certificate without a start time proves nothing");
});

test("the mirror pod proves a restart only with the written annotation, a container started after the change, and Ready", async () => {
  const pod = (ann: string, startedAt: number, ready: boolean): MirrorPod => ({
    metadata: { annotations: { "konvoy.d2iq.io/restartedAt": ann } },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }], containerStatuses: [{ state: { running: { startedAt: new Date(startedAt).toISOString().replace(/\.\d+Z$/, "Z") } } }] },
  });
  const down = step({ before: {} });
  const m = manifest("kube-apiserver");
  assert.equal((await newProcessEvidence(down, m, opts(probes({ pod: pod("1764580323.000001", T + 70_000, true) })))).by, "mirror pod");
  assert.equal((await newProcessEvidence(down, m, opts(probes({ pod: pod("1764500000.000001", T + 70_000, true) })))).proven, false, "another annotation");
  assert.equal((await newProcessEvidence(down, m, opts(probes({ pod: pod("1764580323.000001", T + 10_000, true) })))).proven, false, "started before the change");
  assert.equal((await newProcessEvidence(down, m, opts(probes({ pod: pod("1764580323.000001", T + 70_000, false) })))).proven, false, "not Ready");
});

test("the process table proves a restart once the pids from before are gone and a process started after the change", async () => {
  const s = step({ before: { pids: [100] } });
  const m = manifest("kube-scheduler");
  assert.equal((await newProcessEvidence({ ...s, component: "kube-scheduler" }, m, opts(probes({ procs: [{ pid: 100, startedAt: T }] })))).proven, false);
  const e = await newProcessEvidence({ ...s, component: "kube-scheduler" }, m, opts(probes({ procs: [{ pid: 200, startedAt: T + 65_000 }] })));
  assert.deepEqual([e.proven, e.by], [true, "process table"]);
});

test("a timeout names the missing proof", async () => {
  const clock = { t: 0, now: () => clock.t, sleep: async (ms: number) => { clock.t += ms; } };
  const p: Probes = { ...probes({ tls: tls("AA", T) }), get: () => Promise.resolve({ status: 200, body: "ok", fingerprint: "X" }) };
  const err = await proveRestart({
    step: step(), manifest: manifest("kube-apiserver"), probes: p, nodeName: "cp-1", annotationKey: "konvoy.d2iq.io/restartedAt",
    expected: { apiserverFingerprint: "X", credentials: { certPem: "", keyPem: "", caPem: "" }, certificates: "renewed" },
    timeoutMs: 180_000, clock, log: memoryLogger(),
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Error);
  assert.equal(err.message, "kube-apiserver: still the process started 09:12:03 (loopback certificate unchanged) 180 s after its manifest changed");
});
