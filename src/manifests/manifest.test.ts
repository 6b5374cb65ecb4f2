import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubeadmManifests } from "../sandbox/manifests.js";
import { parseManifest, parseEndpoint, formatEndpoint, readManifest } from "./manifest.js";
import { manifestsToRestart, restartOrder } from "./list.js";
import { RenewCertsError } from "../errors.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";

const host = { nodeName: "cp-1", address: "10.0.0.7", apiserverPort: 16443, serviceIp: "10.96.0.1" };
const kubeadm = kubeadmManifests(host, { externalEtcd: false, etcdClientPort: 2379, etcdPeerPort: 2380 });

test("kube-apiserver's endpoint comes from kubeadm's advertise-address annotation", () => {
  const m = parseManifest(kubeadm["kube-apiserver.yaml"]!, "/r/etc/kubernetes/manifests/kube-apiserver.yaml");
  assert.equal(m.component, "kube-apiserver");
  assert.equal(m.name, "kube-apiserver");
  assert.deepEqual(m.advertiseEndpoint, { host: "10.0.0.7", port: 16443 });
  assert.equal(m.flags.get("tls-cert-file"), "/etc/kubernetes/pki/apiserver.crt");
  assert.equal(m.flags.get("client-ca-file"), "/etc/kubernetes/pki/ca.crt");
  assert.equal(m.flags.get("allow-privileged"), "true");
  assert.equal(m.annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"], "10.0.0.7:16443");
  assert.equal(m.secureEndpoint, undefined);
});

test("without the annotation the endpoint is --advertise-address and --secure-port, else 127.0.0.1:6443", () => {
  const noAnnotation = kubeadm["kube-apiserver.yaml"]!.replace(/ {2}annotations:\n.*\n.*\n/, "");
  assert.deepEqual(parseManifest(noAnnotation, "kube-apiserver.yaml").advertiseEndpoint, { host: "10.0.0.7", port: 16443 });
  const bare = noAnnotation.replace(/ {4}- --advertise-address=.*\n/, "").replace(/ {4}- --secure-port=.*\n/, "");
  assert.deepEqual(parseManifest(bare, "kube-apiserver.yaml").advertiseEndpoint, { host: "127.0.0.1", port: 6443 });
});

test("an IPv6 endpoint annotation is read with its brackets removed", () => {
  assert.deepEqual(parseEndpoint("[fd00::1]:6443"), { host: "fd00::1", port: 6443 });
  assert.equal(formatEndpoint({ host: "fd00::1", port: 6443 }), "[fd00::1]:6443");
  assert.equal(parseEndpoint("fd00::1:6443"), undefined);
  assert.equal(parseEndpoint("host:99999"), undefined);
});

test("kube-controller-manager and kube-scheduler serve on --secure-port, by default 10257 and 10259", () => {
  assert.deepEqual(parseManifest(kubeadm["kube-controller-manager.yaml"]!, "kube-controller-manager.yaml").secureEndpoint, { host: "127.0.0.1", port: 10257 });
  assert.deepEqual(parseManifest(kubeadm["kube-scheduler.yaml"]!, "kube-scheduler.yaml").secureEndpoint, { host: "127.0.0.1", port: 10259 });
  const moved = kubeadm["kube-scheduler.yaml"]!.replace("--secure-port=10259", "--secure-port=20259");
  assert.deepEqual(parseManifest(moved, "kube-scheduler.yaml").secureEndpoint, { host: "127.0.0.1", port: 20259 });
  const noFlag = kubeadm["kube-controller-manager.yaml"]!.replace(/ {4}- --secure-port=.*\n/, "").replace("--bind-address=127.0.0.1", "--bind-address=0.0.0.0");
  assert.deepEqual(parseManifest(noFlag, "kube-controller-manager.yaml").secureEndpoint, { host: "127.0.0.1", port: 10257 });
});

test("flags given in args are read as well as those in command", () => {
  const text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-scheduler\nspec:\n  containers:\n  - command: [kube-scheduler]\n    args: ['--secure-port=30259']\n    name: s\n";
  assert.deepEqual(parseManifest(text, "kube-scheduler.yaml").secureEndpoint, { host: "127.0.0.1", port: 30259 });
});

test("an unparseable manifest on disk is a MANIFEST error naming the file", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-manifest-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "kube-apiserver.yaml");
  await writeFile(file, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  bad: [\n");
  await assert.rejects(readManifest(file), (e: unknown) => e instanceof RenewCertsError && e.code === "MANIFEST" && e.file === file && e.message.includes(file) && /restore it from a backup/.test(e.message));
  await writeFile(file, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec: {}\n");
  await assert.rejects(readManifest(file), /has no spec.containers/);
});

test("restarts run kube-apiserver first, then the configured order, each once", () => {
  assert.deepEqual(restartOrder(["kube-scheduler", "kube-apiserver.yaml", "etcd", "kube-scheduler"]), ["kube-apiserver", "kube-scheduler", "etcd"]);
});

test("configured manifests that do not exist are skipped; etcd only when configured", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-manifest-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, "etc/kubernetes/manifests");
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(kubeadm)) await writeFile(join(dir, name), text);
  const list = await manifestsToRestart(root, DEFAULT_SETTINGS.manifests);
  assert.deepEqual(list.present.map((m) => m.component), ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]);
  assert.deepEqual(list.missing.map((m) => m.component), ["kube-proxy"]);
  assert.equal(list.present[0]!.file, join(dir, "kube-apiserver.yaml"));
  const withEtcd = await manifestsToRestart(root, [...DEFAULT_SETTINGS.manifests, "etcd"]);
  assert.deepEqual(withEtcd.present.map((m) => m.component), ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"]);
});
