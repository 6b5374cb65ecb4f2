// The reload proof of etcd against Debian's real etcd: started on the old certificates, it serves
// the renewed ones after `renew all` without a restart, and the proof says so only when it is true.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { copySandbox } from "../../test/support/sandbox.js";
import { needTools } from "../../test/support/tools.js";
import { cli } from "../../test/support/cli.js";
import { startEtcd } from "../../test/support/etcd.js";
import { httpsGet } from "../kube/tls.js";
import { readManifest } from "../manifests/manifest.js";
import { etcdReloaded, etcdTarget, type EtcdTarget } from "./reload-proof.js";

const probes = { get: httpsGet };
const endpointOf = (url: string) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) });

test("etcd's manifest gives the proof its loopback client URL, its peer URL and kubeadm's files", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 10 });
  const target = etcdTarget(root, await readManifest(join(root, "etc/kubernetes/manifests/etcd.yaml")));
  assert.equal(target?.client.host, "127.0.0.1");
  assert.ok(target && target.peer.port > 0 && target.peer.port !== target.client.port);
  assert.equal(target?.serverCert, join(root, "etc/kubernetes/pki/etcd/server.crt"));
  assert.equal(target?.clientCert, join(root, "etc/kubernetes/pki/apiserver-etcd-client.crt"));
});

test("real etcd, not restarted, is proven to serve the renewed server and peer certificates and to accept the renewed apiserver-etcd-client; a wrong port or a foreign client certificate is not proven", async (t) => {
  if (!needTools(t, "etcd", "etcdctl")) return;
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  const etcd = await startEtcd(root);
  t.after(() => etcd.stop());
  const pki = join(root, "etc/kubernetes/pki");
  const target: EtcdTarget = {
    client: endpointOf(etcd.endpoint), peer: endpointOf(etcd.peer),
    serverCert: join(pki, "etcd/server.crt"), peerCert: join(pki, "etcd/peer.crt"), ca: join(pki, "etcd/ca.crt"),
    clientCert: join(pki, "apiserver-etcd-client.crt"), clientKey: join(pki, "apiserver-etcd-client.key"),
  };
  const oldServer = new X509Certificate(await readFile(target.serverCert)).fingerprint256;
  assert.equal((await etcdReloaded(target, probes)).proven, true, "on the files it started with");
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.notEqual(new X509Certificate(await readFile(target.serverCert)).fingerprint256, oldServer, "renewed on disk");
  const after = await etcdReloaded(target, probes);
  assert.equal(after.proven, true, after.detail);
  assert.match(after.detail, /serves etcd\/server\.crt and \/health accepts apiserver-etcd-client; .* serves etcd\/peer\.crt$/);
  assert.equal(etcd.process.exitCode, null, "the same etcd process");
  const wrongPort = await etcdReloaded({ ...target, peer: target.client }, probes);
  assert.equal(wrongPort.proven, false);
  assert.match(wrongPort.detail, /\(peer\) serves another certificate than .*etcd\/peer\.crt$/);
  // A client certificate of another CA: etcd refuses it.
  const foreign = await etcdReloaded({ ...target, clientCert: join(pki, "front-proxy-client.crt"), clientKey: join(pki, "front-proxy-client.key") }, probes);
  assert.equal(foreign.proven, false);
  assert.match(foreign.detail, /\/health with apiserver-etcd-client: /);
});
