import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { copySandbox } from "../support/sandbox.js";
import { needTools, run } from "../support/tools.js";
import { startEtcd, etcdctl } from "../support/etcd.js";
import { CAS, LEAVES } from "../../src/inventory/catalog.js";

const PKI = "etc/kubernetes/pki";

function caFile(root: string, ca: string): string {
  return join(root, PKI, `${CAS.find((c) => c.name === ca)!.baseName}.crt`);
}

/** Extracts a kubeconfig's client certificate with kubectl itself, as PEM. */
function kubectlClientCert(file: string): string {
  const r = run("kubectl", ["config", "view", "--raw", "--kubeconfig", file, "-o", "jsonpath={.users[0].user.client-certificate-data}"]);
  assert.equal(r.status, 0, r.stderr);
  return Buffer.from(r.stdout, "base64").toString();
}

for (const keyType of ["rsa-2048", "ecdsa-p256"] as const) {
  const keySpec = keyType === "rsa-2048" ? { type: "rsa", bits: 2048 } as const : { type: "ec", curve: "P-256" } as const;

  test(`openssl verifies every ${keyType} sandbox leaf against its CA and shows kubeadm's subjects, SANs and usages`, async (t) => {
    if (!needTools(t, "openssl", "kubectl")) return;
    const root = await copySandbox(t, { keySpec });
    for (const leaf of LEAVES) {
      let certFile = join(root, PKI, `${leaf.baseName}.crt`);
      if (leaf.kind === "kubeconfig") {
        const pem = kubectlClientCert(join(root, "etc/kubernetes", leaf.baseName));
        certFile = join(root, `${leaf.name}.pem`);
        const { writeFile } = await import("node:fs/promises");
        await writeFile(certFile, pem);
      }
      const v = run("openssl", ["verify", "-CAfile", caFile(root, leaf.ca), certFile]);
      assert.equal(v.status, 0, `${leaf.name}: ${v.stdout}${v.stderr}`);
    }
    const text = (f: string): string => run("openssl", ["x509", "-in", join(root, PKI, f), "-noout", "-text"]).stdout;
    const apiserver = text("apiserver.crt");
    assert.match(apiserver, /Subject: CN ?= ?kube-apiserver/);
    assert.match(apiserver, /DNS:cp-1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, IP Address:10.96.0.1, IP Address:127.0.0.1/);
    assert.match(apiserver, /TLS Web Server Authentication/);
    const etcdServer = text("etcd/server.crt");
    assert.match(etcdServer, /DNS:cp-1, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(etcdServer, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(text("apiserver-kubelet-client.crt"), /Subject: O ?= ?kubeadm:cluster-admins, CN ?= ?kube-apiserver-kubelet-client[\s\S]*TLS Web Client Authentication/);
    assert.match(text("ca.crt"), /Certificate Sign[\s\S]*CA:TRUE/);
    const keyText = run("openssl", ["x509", "-in", join(root, PKI, "front-proxy-client.crt"), "-noout", "-text"]).stdout;
    assert.match(keyText, keyType === "rsa-2048" ? /Public-Key: \(2048 bit\)/ : /ASN1 OID: prime256v1/);
  });
}

test("kubectl reads every sandbox kubeconfig", async (t) => {
  if (!needTools(t, "kubectl")) return;
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  for (const f of ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"]) {
    const r = run("kubectl", ["config", "view", "--raw", "--kubeconfig", join(root, "etc/kubernetes", f), "-o", "jsonpath={.current-context}"]);
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    assert.match(r.stdout, /@kubernetes$/);
  }
});

test("real etcd serves with the sandbox etcd certificates and etcdctl authenticates with both client certificates", async (t) => {
  if (!needTools(t, "etcd", "etcdctl")) return;
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  const etcd = await startEtcd(root);
  t.after(() => etcd.stop());
  for (const client of ["apiserver-etcd-client", "healthcheck-client"] as const) {
    const r = etcdctl(root, etcd.endpoint, client, ["endpoint", "health"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /is healthy/);
  }
  const put = etcdctl(root, etcd.endpoint, "apiserver-etcd-client", ["put", "/registry/test", "ok"]);
  assert.equal(put.status, 0, put.stderr);
});
