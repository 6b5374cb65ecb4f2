import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { copySandbox } from "../../test/support/sandbox.js";
import { assignFreePorts } from "../../test/doubles/ports.js";
import { startApiserverDouble } from "../../test/doubles/apiserver.js";
import { startHealthzDouble } from "../../test/doubles/healthz.js";
import { freePort } from "../../test/support/etcd.js";
import { apiserverCheck, credentialsFromKubeconfig, healthzCheck, sameFingerprint, servedFingerprint } from "./health.js";

const ec = { keySpec: { type: "ec", curve: "P-256" } } as const;
const local = (port: number): { host: string; port: number } => ({ host: "127.0.0.1", port });

test("kube-apiserver is healthy only when it serves the expected certificate and /livez is ok", async (t) => {
  const root = await copySandbox(t, ec);
  const ports = await assignFreePorts(root);
  const manifests = join(root, "etc/kubernetes/manifests");
  const api = startApiserverDouble(root, join(manifests, "kube-apiserver.yaml"));
  t.after(() => api.stop());
  await api.ready;
  const credentials = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  const served = await servedFingerprint(local(ports.apiserver));
  const good = await apiserverCheck({ endpoint: local(ports.apiserver), expectedFingerprint: served.toLowerCase(), credentials })();
  assert.equal(good.healthy, true, good.detail);
  const old = await apiserverCheck({ endpoint: local(ports.apiserver), expectedFingerprint: "AA:BB", credentials })();
  assert.equal(old.healthy, false);
  assert.match(old.detail, /serves another certificate than the renewed one/);
  const down = await apiserverCheck({ endpoint: local(await freePort()), expectedFingerprint: served, credentials })();
  assert.equal(down.healthy, false);
  assert.match(down.detail, /ECONNREFUSED/);
});

test("kube-apiserver that runs but fails /livez is not healthy, and says what it answered", async (t) => {
  const root = await copySandbox(t, ec);
  const ports = await assignFreePorts(root);
  const api = startApiserverDouble(root, join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"), "unhealthy");
  t.after(() => api.stop());
  await api.ready;
  const credentials = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  const r = await apiserverCheck({ endpoint: local(ports.apiserver), expectedFingerprint: await servedFingerprint(local(ports.apiserver)), credentials })();
  assert.equal(r.healthy, false);
  assert.match(r.detail, /\/livez answered 500 "\[-\]etcd failed/);
});

test("/healthz of a restarted component counts only once a new process answers", async (t) => {
  const root = await copySandbox(t, ec);
  const ports = await assignFreePorts(root);
  const kcm = startHealthzDouble(root, join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml"));
  t.after(() => kcm.stop());
  await kcm.ready;
  const endpoint = local(ports.controllerManager);
  const first = await healthzCheck({ endpoint })();
  assert.equal(first.healthy, true, first.detail);
  assert.ok(first.fingerprint);
  const same = await healthzCheck({ endpoint, previousFingerprint: first.fingerprint })();
  assert.equal(same.healthy, false);
  assert.match(same.detail, /the process from before the restart still answers/);
  assert.equal((await healthzCheck({ endpoint, path: "/nope" })()).detail.includes("answered 404"), true);
});

test("credentials come from a kubeconfig that points to files, with the cluster CA from pki/ca.crt when it names none", async (t) => {
  const root = await copySandbox(t, ec);
  const file = join(root, "etc/kubernetes/admin.conf");
  const kc = parse(await readFile(file, "utf8")) as { users: { user: Record<string, string> }[]; clusters: { cluster: Record<string, string> }[] };
  const embedded = await credentialsFromKubeconfig(file, root);
  await mkdir(join(root, "etc/kubernetes/pki/users"), { recursive: true });
  await writeFile(join(root, "etc/kubernetes/pki/users/admin.crt"), embedded.certPem);
  await writeFile(join(root, "etc/kubernetes/pki/users/admin.key"), embedded.keyPem, { mode: 0o600 });
  kc.users[0]!.user = { "client-certificate": "/etc/kubernetes/pki/users/admin.crt", "client-key": "pki/users/admin.key" };
  delete kc.clusters[0]!.cluster["certificate-authority-data"];
  await writeFile(file, stringify(kc));
  const fromFiles = await credentialsFromKubeconfig(file, root);
  assert.deepEqual(fromFiles, { ...embedded, caPem: await readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8") });
  assert.equal(fromFiles.caPem, embedded.caPem);
});

test("fingerprints compare without regard to case or colons", () => {
  assert.equal(sameFingerprint("AB:CD:EF", "abcdef"), true);
  assert.equal(sameFingerprint("AB:CD", "AB:CE"), false);
  assert.equal(sameFingerprint(undefined, undefined), false);
});
