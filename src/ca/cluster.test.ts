import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { resignedCa } from "../../test/support/resigned-ca.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { ApiError, kubeClient, type KubeClient } from "../kube/client.js";
import { annotateManifest } from "../manifests/annotate.js";
import { proveCaInCluster, publishCa, readPublishedCa } from "./cluster.js";
import { detachedJws } from "../simulator/bootstrap-signer.js";
import { eventually } from "../../test/support/eventually.js";

type Cm = { metadata: { resourceVersion: string }; data: Record<string, string> };
const CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info";

async function admin(root: string, port: number): Promise<KubeClient> {
  return kubeClient({ host: "127.0.0.1", port }, await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
}

test("publishing ca replaces only the CA data of cluster-info's cluster; etcd-ca and front-proxy-ca go to renew-certs-ca", async (t) => {
  const { root, ports } = await simulatedHost(t);
  const api = await admin(root, ports.apiserver);
  const pki = join(root, "etc/kubernetes/pki");
  assert.deepEqual(await readPublishedCa(api, "ca"), { pem: await readFile(join(pki, "ca.crt"), "utf8"), where: "kube-public/cluster-info (certificate-authority-data)" });
  // A bootstrap token that may sign: the controller-manager's bootstrap signer adds its JWS to cluster-info.
  const b64 = (v: string): string => Buffer.from(v).toString("base64");
  await api.create("/api/v1/namespaces/kube-system/secrets", {
    metadata: { name: "bootstrap-token-abcdef" }, type: "bootstrap.kubernetes.io/token",
    data: { "token-id": b64("abcdef"), "token-secret": b64("0123456789abcdef"), "usage-bootstrap-signing": b64("true") },
  });
  const signedFor = async (content: string): Promise<Cm | undefined> => {
    const cm = await api.get<Cm>(CLUSTER_INFO);
    return cm.data["kubeconfig"] === content && cm.data["jws-kubeconfig-abcdef"] === detachedJws(content, "abcdef", "0123456789abcdef") ? cm : undefined;
  };
  const first = (await api.get<Cm>(CLUSTER_INFO)).data["kubeconfig"]!;
  const before = await eventually("the bootstrap signer's JWS", () => signedFor(first));
  assert.match(before.data["jws-kubeconfig-abcdef"]!, /^eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9\.\.[\w-]{43}$/, '{"alg":"HS256","kid":"abcdef"}, detached');
  const renewed = await resignedCa(root);
  assert.deepEqual(await publishCa(api, "ca", renewed.pem), { where: "kube-public/cluster-info (certificate-authority-data)" });
  const published = (await api.get<Cm>(CLUSTER_INFO)).data["kubeconfig"]!;
  const lines = (s: string): string[] => s.split("\n");
  const changed = lines(published).filter((l, i) => l !== lines(first)[i]);
  assert.deepEqual(changed, [`    certificate-authority-data: ${Buffer.from(renewed.pem).toString("base64")}`], "every other byte stays");
  await eventually("the JWS re-made for the new content", () => signedFor(published));
  assert.equal((await readPublishedCa(api, "ca"))?.pem, renewed.pem);

  assert.equal(await readPublishedCa(api, "etcd-ca"), undefined);
  const etcd = await resignedCa(root, { base: "etcd/ca" });
  const proxy = await resignedCa(root, { base: "front-proxy-ca" });
  assert.deepEqual(await publishCa(api, "etcd-ca", etcd.pem), { where: "kube-system/renew-certs-ca (etcd-ca.crt)" });
  await publishCa(api, "front-proxy-ca", proxy.pem);
  assert.deepEqual(await readPublishedCa(api, "etcd-ca"), { pem: etcd.pem, where: "kube-system/renew-certs-ca (etcd-ca.crt)" });
  assert.equal((await readPublishedCa(api, "front-proxy-ca"))?.pem, proxy.pem);
});

test("a publication that meets another host's write (409) reads again and writes once more, and a second 409 is thrown", async (t) => {
  const { root, ports } = await simulatedHost(t);
  const api = await admin(root, ports.apiserver);
  const etcd = await resignedCa(root, { base: "etcd/ca" });
  await publishCa(api, "etcd-ca", etcd.pem);
  // Another host writes between our read and our write, once or always.
  const racing = (times: number): KubeClient => ({
    ...api,
    async update<T>(path: string, body: unknown): Promise<T> {
      if (times-- > 0) {
        const cur = await api.get<Cm>(path);
        await api.update(path, { ...cur, data: { ...cur.data, "other-host": String(times) } });
      }
      return api.update<T>(path, body);
    },
  });
  const proxy = await resignedCa(root, { base: "front-proxy-ca" });
  await publishCa(racing(1), "front-proxy-ca", proxy.pem);
  const cm = await api.get<Cm>("/api/v1/namespaces/kube-system/configmaps/renew-certs-ca");
  assert.deepEqual(Object.keys(cm.data).sort(), ["etcd-ca.crt", "front-proxy-ca.crt", "other-host"]);
  assert.equal(cm.data["front-proxy-ca.crt"], proxy.pem);
  const again = await resignedCa(root, { base: "front-proxy-ca" });
  await assert.rejects(publishCa(racing(2), "front-proxy-ca", again.pem), (e: unknown) => e instanceof ApiError && e.status === 409);
  const renewed = await resignedCa(root);
  await publishCa(racing(1), "ca", renewed.pem);
  assert.equal((await readPublishedCa(api, "ca"))?.pem, renewed.pem);
});

test("the cluster proofs hold for the CA a cluster started with, fail for a renewed one, and hold once it is published and the controller-manager restarted", async (t) => {
  const { root, ports } = await simulatedHost(t);
  const api = await admin(root, ports.apiserver);
  const pki = join(root, "etc/kubernetes/pki");
  const current = await readFile(join(pki, "ca.crt"), "utf8");
  const rows = await eventually("every proof to hold for the current CA", async () => {
    const r = await proveCaInCluster(api, "ca", current);
    return r.every((x) => x.holds) ? r : undefined;
  });
  assert.deepEqual(rows.map((r) => r.object), [
    "kube-system/extension-apiserver-authentication (client-ca-file)",
    "default/kube-root-ca.crt", "kube-node-lease/kube-root-ca.crt", "kube-public/kube-root-ca.crt", "kube-system/kube-root-ca.crt",
    "kube-public/cluster-info",
  ]);
  const renewed = await resignedCa(root);
  const none = await proveCaInCluster(api, "ca", renewed.pem);
  assert.deepEqual(none.filter((r) => r.holds), [], "nothing holds a certificate nobody has seen");
  assert.match(none.find((r) => r.object === "default/kube-root-ca.crt")!.detail, /holds the old certificate.*restart it/);
  await writeFile(join(pki, "ca.crt"), renewed.pem);
  await publishCa(api, "ca", renewed.pem);
  const partial = await eventually("kube-apiserver to re-read its client CA", async () => {
    const r = await proveCaInCluster(api, "ca", renewed.pem);
    return r[0]!.holds ? r : undefined;
  });
  assert.equal(partial.find((r) => r.object === "kube-public/cluster-info")!.holds, true);
  // Not before the controller-manager's restart: a namespace made now is given the old root CA.
  await api.create("/api/v1/namespaces", { metadata: { name: "made-after" } });
  await eventually("the new namespace's kube-root-ca.crt", async () => {
    const r = await proveCaInCluster(api, "ca", current);
    return r.find((x) => x.object === "made-after/kube-root-ca.crt")?.holds ? true : undefined;
  });
  assert.equal((await proveCaInCluster(api, "ca", renewed.pem)).filter((r) => r.object.endsWith("/kube-root-ca.crt") && r.holds).length, 0);
  await annotateManifest(join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml"), "konvoy.d2iq.io/restartedAt", "1764300000.000001");
  const all = await eventually("every proof after the controller-manager's restart", async () => {
    const r = await proveCaInCluster(api, "ca", renewed.pem);
    return r.every((x) => x.holds) ? r : undefined;
  });
  assert.equal(all.length, 7, "five namespaces, the authentication ConfigMap and cluster-info");
});

test("front-proxy-ca is proven by the request-header bundle and its publication; etcd-ca by its publication; kubeadm-certs is reported, not required", async (t) => {
  const { root, ports } = await simulatedHost(t);
  const api = await admin(root, ports.apiserver);
  const proxy = await resignedCa(root, { base: "front-proxy-ca" });
  await writeFile(join(root, "etc/kubernetes/pki/front-proxy-ca.crt"), proxy.pem);
  const before = await eventually("the request-header bundle", async () => {
    const r = await proveCaInCluster(api, "front-proxy-ca", proxy.pem);
    return r[0]!.holds ? r : undefined;
  });
  assert.deepEqual(before.map((r) => [r.object, r.holds]), [
    ["kube-system/extension-apiserver-authentication (requestheader-client-ca-file)", true],
    ["kube-system/renew-certs-ca (front-proxy-ca.crt)", false],
  ]);
  await publishCa(api, "front-proxy-ca", proxy.pem);
  assert.ok((await proveCaInCluster(api, "front-proxy-ca", proxy.pem)).every((r) => r.holds));
  const etcd = await resignedCa(root, { base: "etcd/ca" });
  assert.deepEqual((await proveCaInCluster(api, "etcd-ca", etcd.pem)).map((r) => [r.object, r.holds, r.detail]), [["kube-system/renew-certs-ca (etcd-ca.crt)", false, "not published"]]);
  await api.create("/api/v1/namespaces/kube-system/secrets", { metadata: { name: "kubeadm-certs" }, type: "Opaque", data: { "ca.crt": "ZW5jcnlwdGVk" } });
  const certs = (await proveCaInCluster(api, "etcd-ca", etcd.pem)).find((r) => r.object === "kube-system/kubeadm-certs")!;
  assert.deepEqual([certs.holds, certs.required], [false, false]);
  assert.match(certs.detail, /2 hours.*kubeadm init phase upload-certs --upload-certs/);
});
