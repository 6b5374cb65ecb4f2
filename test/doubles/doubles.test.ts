import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { copySandbox } from "../support/sandbox.js";
import { reissueApiserver } from "../support/reissue.js";
import { assignFreePorts } from "./ports.js";
import { kubeletDoubleFor } from "./kubelet.js";
import { annotateManifest } from "../../src/manifests/annotate.js";
import { credentialsFromKubeconfig, httpsGet, servedFingerprint } from "../../src/run/health.js";

const ec = { keySpec: { type: "ec", curve: "P-256" } } as const;
const KEY = "konvoy.d2iq.io/restartedAt";
const local = (port: number): { host: string; port: number } => ({ host: "127.0.0.1", port });

async function eventually<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("the API server test double accepts the sandbox's admin.conf credentials and rejects a client certificate from another CA", async (t) => {
  const root = await copySandbox(t, ec);
  const ports = await assignFreePorts(root);
  await kubeletDoubleFor(t, { root });
  const admin = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  const ok = await httpsGet({ endpoint: local(ports.apiserver), path: "/livez", verify: true, credentials: admin });
  assert.deepEqual([ok.status, ok.body], [200, "ok"]);
  const pki = join(root, "etc/kubernetes/pki");
  const etcdSigned = { ...admin, certPem: await readFile(join(pki, "apiserver-etcd-client.crt"), "utf8"), keyPem: await readFile(join(pki, "apiserver-etcd-client.key"), "utf8") };
  const refused = await httpsGet({ endpoint: local(ports.apiserver), path: "/livez", verify: true, credentials: etcdSigned }).then((r) => `answered ${r.status}`, (e: Error) => e.message);
  assert.doesNotMatch(refused, /answered/, "a client certificate signed by etcd-ca is refused");
  const anonymous = await httpsGet({ endpoint: local(ports.apiserver), path: "/livez", verify: false }).then((r) => `answered ${r.status}`, (e: Error) => e.message);
  assert.doesNotMatch(anonymous, /answered/, "a client without a certificate is refused");
});

test("after the manifest's annotation changes, the kubelet test double restarts the API server, which then serves the certificate now on disk", async (t) => {
  const root = await copySandbox(t, ec);
  const ports = await assignFreePorts(root);
  const kubelet = await kubeletDoubleFor(t, { root });
  const before = await servedFingerprint(local(ports.apiserver));
  const renewed = await reissueApiserver(root);
  assert.notEqual(renewed, before);
  await kubelet.settled();
  assert.equal(await servedFingerprint(local(ports.apiserver)), before, "the certificate is loaded at start only");
  await annotateManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"), KEY, "1764300000.000001");
  await eventually("the renewed certificate", async () => ((await servedFingerprint(local(ports.apiserver))) === renewed ? true : undefined));
  assert.equal(kubelet.restarts("kube-apiserver"), 1);
  assert.deepEqual(kubelet.order, ["kube-apiserver"]);
  assert.equal(kubelet.restarts("kube-scheduler"), 0);
});

test("the /healthz test double answers ok with a new self-signed certificate after each restart", async (t) => {
  const root = await copySandbox(t, ec);
  const ports = await assignFreePorts(root);
  const kubelet = await kubeletDoubleFor(t, { root });
  const first = await httpsGet({ endpoint: local(ports.scheduler), path: "/healthz", verify: false });
  assert.deepEqual([first.status, first.body], [200, "ok"]);
  await annotateManifest(join(root, "etc/kubernetes/manifests/kube-scheduler.yaml"), KEY, "1764300000.000001");
  const second = await eventually("a new scheduler process", async () => {
    const r = await httpsGet({ endpoint: local(ports.scheduler), path: "/healthz", verify: false });
    return r.fingerprint !== first.fingerprint ? r : undefined;
  });
  assert.deepEqual([second.status, second.body], [200, "ok"]);
  assert.equal(kubelet.restarts("kube-scheduler"), 1);
});

test("a component told to stay down or to be unhealthy after a restart does so, and the kubelet test double ignores dot-files", async (t) => {
  const root = await copySandbox(t, ec);
  const ports = await assignFreePorts(root);
  const kubelet = await kubeletDoubleFor(t, { root, behaviour: (c, start) => (start === 0 ? "healthy" : c === "kube-scheduler" ? "down" : "unhealthy") });
  const dir = join(root, "etc/kubernetes/manifests");
  await writeFile(join(dir, ".kube-scheduler.yaml.renew-certs-0000.tmp"), "not even yaml: [");
  await kubelet.settled();
  assert.equal(kubelet.restarts("kube-scheduler"), 0, "a dot-file is not a manifest");
  await annotateManifest(join(dir, "kube-scheduler.yaml"), KEY, "1");
  await annotateManifest(join(dir, "kube-controller-manager.yaml"), KEY, "1");
  await kubelet.settled();
  assert.deepEqual(kubelet.order, ["kube-scheduler", "kube-controller-manager"]);
  assert.equal(kubelet.running("kube-scheduler"), undefined);
  await assert.rejects(httpsGet({ endpoint: local(ports.scheduler), path: "/healthz", verify: false }), /ECONNREFUSED/);
  await kubelet.running("kube-controller-manager")!.ready;
  const r = await httpsGet({ endpoint: local(ports.controllerManager), path: "/healthz", verify: false });
  assert.equal(r.status, 500);
});
