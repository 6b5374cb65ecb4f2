import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { copySandbox } from "../../test/support/sandbox.js";
import { assignFreePorts } from "../simulator/ports.js";
import { startApiDouble, type ApiDouble } from "../../test/support/api.js";
import { memoryLogger } from "../log/logger.js";
import { readManifest } from "../manifests/manifest.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { RenewCertsError } from "../errors.js";
import { exitCodeFor } from "../cli/exit-codes.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { kubeClient } from "../kube/client.js";
import { acquireLease, heldByOther, microTime, type Lease } from "./lease.js";
import { kubeCoordinator } from "./kube-coordinator.js";

const wall = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

/** A sandbox whose kube-apiserver manifest points at a running API server test double. */
async function cluster(t: Parameters<typeof copySandbox>[0]): Promise<{ root: string; api: ApiDouble }> {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  await assignFreePorts(root);
  const m = await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"));
  const api = await startApiDouble(t, root, m.advertiseEndpoint.port);
  return { root, api };
}

async function client(root: string, port: number) {
  return kubeClient({ host: "127.0.0.1", port }, await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
}

test("another host's lease is judged by how long this host has seen it unchanged, not by its renewTime against our clock", () => {
  const at = (renewTime: number, rv: string): Lease => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "renew-certs", namespace: "kube-system", resourceVersion: rv }, spec: { holderIdentity: "cp-2", leaseDurationSeconds: 10, renewTime: microTime(renewTime) } });
  const observed = { key: "", at: 0 };
  // Their clock is a year behind ours: by renewTime the lease looks long expired, but it was just renewed.
  const yearAgo = Date.UTC(2025, 0, 1);
  assert.equal(heldByOther(at(yearAgo, "7"), "cp-1", 1_000_000, observed), true, "first seen now: live for its duration");
  assert.equal(heldByOther(at(yearAgo, "7"), "cp-1", 1_009_000, observed), true);
  assert.equal(heldByOther(at(yearAgo + 3000, "8"), "cp-1", 1_012_000, observed), true, "renewed: the duration counts again from now");
  assert.equal(heldByOther(at(yearAgo + 3000, "8"), "cp-1", 1_022_001, observed), false, "unchanged for 10 s by our clock: expired");
  // Their clock is a year ahead: renewTime in the future does not keep a dead holder's lease alive.
  const ahead = { key: "", at: 0 };
  assert.equal(heldByOther(at(Date.UTC(2028, 0, 1), "9"), "cp-1", 5_000, ahead), true);
  assert.equal(heldByOther(at(Date.UTC(2028, 0, 1), "9"), "cp-1", 15_001, ahead), false);
  assert.equal(heldByOther(at(yearAgo, "7"), "cp-2", 1_000_000, { key: "", at: 0 }), false, "never blocks its own holder");
  assert.equal(heldByOther({ ...at(yearAgo, "7"), spec: { holderIdentity: "" } }, "cp-1", 1_000_000, { key: "", at: 0 }), false, "released");
  assert.equal(microTime(Date.UTC(2026, 0, 1, 0, 0, 0, 123)), "2026-01-01T00:00:00.123000Z");
});

test("two hosts racing for the lease restart one at a time", async (t) => {
  const { root, api } = await cluster(t);
  const intervals: { host: string; from: number; to: number }[] = [];
  const host = async (name: string): Promise<void> => {
    const lease = await acquireLease({ client: await client(root, api.port), holder: name, durationSeconds: 5, waitMs: 20_000, log: memoryLogger(), clock: wall, retryMs: 50 });
    const from = Date.now();
    await wall.sleep(400); // the restart and its health wait
    intervals.push({ host: name, from, to: Date.now() });
    await lease.release();
  };
  await Promise.all([host("cp-1"), host("cp-2"), host("cp-3")]);
  assert.equal(intervals.length, 3);
  intervals.sort((a, b) => a.from - b.from);
  for (let i = 1; i < intervals.length; i++) assert.ok(intervals[i]!.from >= intervals[i - 1]!.to, `no overlap: ${JSON.stringify(intervals)}`);
  assert.ok(api.state.requests.some((r) => r.startsWith("PUT")), "updates carry resourceVersion");
  const final = api.state.leases.get("renew-certs") as unknown as Lease;
  assert.equal(final.spec.holderIdentity, "", "released");
  assert.ok((final.spec.leaseTransitions ?? 0) >= 2);
});

test("a holder that dies without releasing loses the lease when it expires, and the other host proceeds", async (t) => {
  const { root, api } = await cluster(t);
  api.state.leases.set("renew-certs", { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "renew-certs", namespace: "kube-system", resourceVersion: "7" }, spec: { holderIdentity: "cp-dead", leaseDurationSeconds: 1, acquireTime: microTime(Date.now()), renewTime: microTime(Date.now()), leaseTransitions: 3 } } as never);
  const log = memoryLogger();
  const started = Date.now();
  const lease = await acquireLease({ client: await client(root, api.port), holder: "cp-1", durationSeconds: 30, waitMs: 10_000, log, clock: wall, retryMs: 100 });
  assert.ok(Date.now() - started >= 700, "waited for the dead holder's lease to expire");
  const l = api.state.leases.get("renew-certs") as unknown as Lease;
  assert.equal(l.spec.holderIdentity, "cp-1");
  assert.equal(l.spec.leaseTransitions, 4);
  assert.ok(log.lines.some((x) => /another control-plane host holds the renew-certs lease \(cp-dead\)/.test(x.msg)));
  await lease.release();
});

test("a live lease held by another host makes the run give up after the wait with exit code 9", async (t) => {
  const { root, api } = await cluster(t);
  const other = await acquireLease({ client: await client(root, api.port), holder: "cp-2", durationSeconds: 30, waitMs: 1000, log: memoryLogger(), clock: wall });
  t.after(() => other.release());
  const err = await acquireLease({ client: await client(root, api.port), holder: "cp-1", durationSeconds: 30, waitMs: 600, log: memoryLogger(), clock: wall, retryMs: 100 }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof RenewCertsError);
  assert.equal(exitCodeFor(err.code), 9);
  assert.match(err.message, /another control-plane host holds the renew-certs lease \(cp-2\)\. The certificates are renewed on disk; the control plane still runs on the old ones and the next run restarts it/);
});

test("SIGTERM while another host holds the lease ends the wait at once with TERMINATED, the other host's lease untouched", async (t) => {
  const { root, api } = await cluster(t);
  const other = await acquireLease({ client: await client(root, api.port), holder: "cp-2", durationSeconds: 3600, waitMs: 1000, log: memoryLogger(), clock: wall });
  t.after(() => other.release());
  const stop = new AbortController();
  const log = memoryLogger();
  // A wait of an hour: only the stop ends it; the stop comes once the wait has begun (its log line).
  const waiting = acquireLease({ client: await client(root, api.port), holder: "cp-1", durationSeconds: 30, waitMs: 3_600_000, log, clock: wall, retryMs: 60_000, signal: stop.signal }).then(() => undefined, (e: unknown) => e);
  for (let i = 0; i < 4500 && !log.lines.some((l) => /^waiting before the restart/.test(l.msg)); i++) await new Promise((r) => setTimeout(r, 20));
  stop.abort("SIGTERM");
  const err = await waiting;
  assert.ok(err instanceof RenewCertsError && err.code === "TERMINATED", String(err));
  assert.equal(other.lost(), undefined, "cp-2 still holds it");
});

test("a lease taken over by another host is lost, and says by whom", async (t) => {
  const { root, api } = await cluster(t);
  const lease = await acquireLease({ client: await client(root, api.port), holder: "cp-1", durationSeconds: 1, waitMs: 1000, log: memoryLogger(), clock: wall });
  const l = api.state.leases.get("renew-certs") as unknown as Lease;
  api.state.leases.set("renew-certs", { ...l, metadata: { ...l.metadata, resourceVersion: "999" }, spec: { ...l.spec, holderIdentity: "cp-2" } } as never);
  await wall.sleep(800);
  assert.equal(lease.lost(), "another control-plane host holds the renew-certs lease now (cp-2)");
  await lease.release();
  assert.equal((api.state.leases.get("renew-certs") as unknown as Lease).spec.holderIdentity, "cp-2", "a lost lease is not released: it is not ours");
});

test("a lease that could not be renewed for its whole duration is lost; shorter outages (our own API server restarting) are not", async (t) => {
  const { root, api } = await cluster(t);
  const c = await client(root, api.port);
  let down = false;
  const flaky = { ...c, get: <T>(p: string) => (down ? Promise.reject(new Error("ECONNREFUSED")) : c.get<T>(p)) };
  const lease = await acquireLease({ client: flaky, holder: "cp-1", durationSeconds: 1, waitMs: 1000, log: memoryLogger(), clock: wall });
  down = true;
  await wall.sleep(500);
  assert.equal(lease.lost(), undefined, "half its duration without renewal: still ours");
  await wall.sleep(900);
  assert.match(lease.lost() ?? "", /was not renewed .*another host may hold it now|was not renewed within its duration/);
  await lease.release();
});

test("the lease is renewed while the health wait runs", async (t) => {
  const { root, api } = await cluster(t);
  const lease = await acquireLease({ client: await client(root, api.port), holder: "cp-1", durationSeconds: 1, waitMs: 1000, log: memoryLogger(), clock: wall });
  const first = (api.state.leases.get("renew-certs") as unknown as Lease).spec.renewTime;
  await wall.sleep(900);
  const later = (api.state.leases.get("renew-certs") as unknown as Lease).spec.renewTime;
  assert.notEqual(later, first);
  await lease.release();
});

test("with the API unreachable the coordinator warns and proceeds without the lease", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  await assignFreePorts(root); // nothing listens there
  const log = memoryLogger();
  const c = kubeCoordinator({ root, settings: { ...DEFAULT_SETTINGS, nodeName: "cp-1" }, log });
  const lease = await c.acquire();
  await lease.release();
  assert.ok(log.lines.some((l) => l.level === "warn" && /the API server is unreachable .*restarting without the renew-certs lease/.test(l.msg)));
  await c.event("CertificatesRenewed", "renewed", "Normal"); // never throws
});

test("another control-plane API server that is unhealthy makes the host wait, then exit with code 9", async (t) => {
  const { root, api } = await cluster(t);
  const { freePort } = await import("../../test/support/etcd.js");
  const deadPort = await freePort();
  api.state.pods.push(
    { metadata: { name: "kube-apiserver-cp-1", namespace: "kube-system", labels: { component: "kube-apiserver" }, annotations: { "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": `127.0.0.1:${api.port}` } }, spec: { nodeName: "cp-1" } },
    { metadata: { name: "kube-apiserver-cp-2", namespace: "kube-system", labels: { component: "kube-apiserver" }, annotations: { "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": `127.0.0.1:${deadPort}` } }, spec: { nodeName: "cp-2" } },
  );
  const log = memoryLogger();
  const c = kubeCoordinator({ root, settings: { ...DEFAULT_SETTINGS, nodeName: "cp-1", leaseWaitSeconds: 1 }, log, retryMs: 200 });
  const err = await c.acquire().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof RenewCertsError, String(err));
  assert.equal(exitCodeFor(err.code), 9);
  assert.match(err.message, /the API server of cp-2 \(127\.0\.0\.1:\d+: .*\) is not healthy, and restarting this one could leave none/);
  assert.equal(api.state.leases.size, 0, "the lease was never taken");
});

test("a healthy cluster: the coordinator takes the lease, records an Event on the Node, and releases", async (t) => {
  const { root, api } = await cluster(t);
  const c = kubeCoordinator({ root, settings: { ...DEFAULT_SETTINGS, nodeName: "cp-1" }, log: memoryLogger() });
  const lease = await c.acquire();
  assert.equal((api.state.leases.get("renew-certs") as unknown as Lease).spec.holderIdentity, "cp-1");
  await c.event("CertificatesRenewed", "renewed 11 certificates", "Normal");
  await lease.release();
  const ev = api.state.events[0] as unknown as { reason: string; involvedObject: { kind: string; name: string }; source: { component: string } };
  assert.equal(ev.reason, "CertificatesRenewed");
  assert.deepEqual([ev.involvedObject.kind, ev.involvedObject.name, ev.source.component], ["Node", "cp-1", "renew-certs"]);
});
