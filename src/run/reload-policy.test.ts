import { test } from "node:test";
import assert from "node:assert/strict";
import { parseManifest } from "../manifests/manifest.js";
import { reloadPolicy, versionOfImage } from "./reload-policy.js";

const manifest = (component: string, image: string | undefined): ReturnType<typeof parseManifest> =>
  parseManifest(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${component}\nspec:\n  containers:\n  - name: ${component}\n${image === undefined ? "" : `    image: ${image}\n`}    command: [${component}, --secure-port=1]\n`, `/etc/kubernetes/manifests/${component}.yaml`);

test("an image's tag gives the version: a registry with a port, a digest, kubeadm's etcd suffix; no tag, latest or a digest alone give none", () => {
  assert.deepEqual(versionOfImage("registry.k8s.io/kube-apiserver:v1.31.4"), { major: 1, minor: 31, patch: 4, text: "v1.31.4" });
  assert.equal(versionOfImage("registry.local:5000/k8s/kube-apiserver:v1.28.7@sha256:abcd")?.text, "v1.28.7");
  assert.deepEqual(versionOfImage("registry.k8s.io/etcd:3.5.16-0"), { major: 3, minor: 5, patch: 16, text: "3.5.16-0" });
  for (const image of ["registry.k8s.io/kube-apiserver", "registry.local:5000/kube-apiserver", "kube-apiserver:latest", "kube-apiserver@sha256:abcd", undefined]) assert.equal(versionOfImage(image), undefined, String(image));
});

test("per component and version: kube-apiserver from v1.23 and etcd from v3.4 reload, older or unknown versions restart, the controller manager and the scheduler always restart, and each reason names the version", () => {
  const table: [string, string | undefined, "restart" | "reload", RegExp][] = [
    ["kube-apiserver", "registry.k8s.io/kube-apiserver:v1.31.4", "reload", /^kube-apiserver v1\.31\.4 re-reads its serving certificate .*\(v1\.23 and later\)/],
    ["kube-apiserver", "registry.k8s.io/kube-apiserver:v1.23.0", "reload", /v1\.23\.0 re-reads/],
    ["kube-apiserver", "registry.k8s.io/kube-apiserver:v1.22.17", "restart", /^kube-apiserver v1\.22\.17 is older than v1\.23, the first version known to re-read its serving certificate on change: restart$/],
    ["kube-apiserver", "registry.k8s.io/kube-apiserver:latest", "restart", /names no version.*: restart$/],
    ["kube-apiserver", undefined, "restart", /its image \(none\) names no version/],
    ["etcd", "registry.k8s.io/etcd:3.5.16-0", "reload", /^etcd 3\.5\.16-0 re-reads its serving and peer certificates on every new handshake/],
    ["etcd", "quay.io/coreos/etcd:v3.1.20", "restart", /older than v3\.4/],
    ["etcd", "registry.k8s.io/etcd:3.3.15-0", "restart", /^etcd 3\.3\.15-0 is older than v3\.4, the first version known to re-read its certificates on every handshake: restart$/],
    ["kube-controller-manager", "registry.k8s.io/kube-controller-manager:v1.31.4", "restart", /^kube-controller-manager v1\.31\.4 keeps the client certificate embedded in its kubeconfig/],
    ["kube-scheduler", "registry.k8s.io/kube-scheduler:v1.31.4", "restart", /embedded in its kubeconfig/],
    ["kube-proxy", "registry.k8s.io/kube-proxy:v1.31.4", "restart", /^kube-proxy v1\.31\.4 is not known to re-read its certificates: restart$/],
  ];
  for (const [component, image, action, why] of table) {
    const p = reloadPolicy(manifest(component, image));
    assert.equal(p.action, action, `${component} ${image}`);
    assert.match(p.why, why, `${component} ${image}`);
  }
  // A kubeconfig with certificate files instead of embedded data: still a restart, for its in-memory serving certificate.
  assert.match(reloadPolicy(manifest("kube-scheduler", "registry.k8s.io/kube-scheduler:v1.31.4"), false).why, /makes its serving certificate in memory at its start/);
});
