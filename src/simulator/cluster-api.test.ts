import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { parse } from "yaml";
import { simulatedHost } from "../../test/support/simulated.js";
import { resignedCa } from "../../test/support/resigned-ca.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { ApiError, kubeClient, type KubeClient } from "../kube/client.js";
import { httpsGet } from "../kube/tls.js";
import { eventually } from "../../test/support/eventually.js";

type Cm = { metadata: { name: string; namespace: string; resourceVersion: string }; data: Record<string, string> };
const local = (port: number): { host: string; port: number } => ({ host: "127.0.0.1", port });

const fingerprints = (bundle: string): string[] => (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p).fingerprint256);
const rejectsWith = (p: Promise<unknown>, status: number, reason: string, message?: RegExp): Promise<void> =>
  assert.rejects(p, (e: unknown) => e instanceof ApiError && e.status === status && e.reason === reason && (!message || message.test(e.message)));

async function adminOf(root: string, port: number): Promise<KubeClient> {
  return kubeClient(local(port), await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
}

test("the API server double serves ConfigMaps and Namespaces with the real API's 404, 409 AlreadyExists and 409 Conflict", async (t) => {
  const { root, ports } = await simulatedHost(t);
  const api = await adminOf(root, ports.apiserver);
  const names = (await api.get<{ items: { metadata: { name: string } }[] }>("/api/v1/namespaces")).items.map((n) => n.metadata.name).sort();
  assert.deepEqual(names, ["default", "kube-node-lease", "kube-public", "kube-system"]);
  const path = "/api/v1/namespaces/default/configmaps";
  const made = await api.create<Cm>(path, { metadata: { name: "a" }, data: { k: "1" } });
  assert.equal(made.metadata.namespace, "default");
  await rejectsWith(api.create(path, { metadata: { name: "a" }, data: {} }), 409, "AlreadyExists", /configmaps "a" already exists/);
  const updated = await api.update<Cm>(`${path}/a`, { ...made, data: { k: "2" } });
  assert.notEqual(updated.metadata.resourceVersion, made.metadata.resourceVersion);
  await rejectsWith(api.update(`${path}/a`, { ...made, data: { k: "3" } }), 409, "Conflict", /the object has been modified/);
  assert.equal((await api.get<Cm>(`${path}/a`)).data["k"], "2");
  await rejectsWith(api.get(`${path}/missing`), 404, "NotFound", /configmaps "missing" not found/);
  await rejectsWith(api.create("/api/v1/namespaces/nope/configmaps", { metadata: { name: "a" } }), 404, "NotFound", /namespaces "nope" not found/);
  await api.create("/api/v1/namespaces", { metadata: { name: "team-a" } });
  await rejectsWith(api.create("/api/v1/namespaces", { metadata: { name: "team-a" } }), 409, "AlreadyExists");
  await api.create("/api/v1/namespaces/team-a/configmaps", { metadata: { name: "a" }, data: {} });
  const all = await api.get<{ kind: string; items: Cm[] }>("/api/v1/configmaps");
  assert.equal(all.kind, "ConfigMapList");
  const a = all.items.filter((c) => c.metadata.name === "a").map((c) => c.metadata.namespace).sort();
  assert.deepEqual(a, ["default", "team-a"]);
  // The controller-manager double publishes kube-root-ca.crt in the new namespace too, sooner or later.
  const inTeam = (await api.get<{ items: Cm[] }>("/api/v1/namespaces/team-a/configmaps")).items.map((c) => c.metadata.name).filter((n) => n !== "kube-root-ca.crt");
  assert.deepEqual(inTeam, ["a"]);
});

test("cluster-info holds the advertise endpoint and pki/ca.crt, and is the only object an anonymous client may read", async (t) => {
  const { root, ports } = await simulatedHost(t);
  const r = await httpsGet({ endpoint: local(ports.apiserver), path: "/api/v1/namespaces/kube-public/configmaps/cluster-info", verify: false });
  assert.equal(r.status, 200);
  const kc = parse((JSON.parse(r.body) as Cm).data["kubeconfig"]!) as { clusters: { cluster: Record<string, string>; name: string }[]; users: unknown };
  assert.equal(kc.clusters.length, 1);
  assert.equal(kc.users, null);
  assert.equal(Buffer.from(kc.clusters[0]!.cluster["certificate-authority-data"]!, "base64").toString(), await readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8"));
  assert.match(kc.clusters[0]!.cluster["server"]!, new RegExp(`^https://[^/]+:${ports.apiserver}$`));
  const other = await httpsGet({ endpoint: local(ports.apiserver), path: "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication", verify: false });
  assert.equal(other.status, 403);
  assert.match(other.body, /configmaps \\"extension-apiserver-authentication\\" is forbidden: User \\"system:anonymous\\" cannot get resource \\"configmaps\\" in API group \\"\\" in the namespace \\"kube-system\\"/);
  const write = await httpsGet({ endpoint: local(ports.apiserver), path: "/api/v1/namespaces/kube-public/configmaps", verify: false });
  assert.equal(write.status, 403, "listing kube-public is not reading cluster-info");
});

test("a hardened cluster answers an anonymous read of cluster-info with 403", async (t) => {
  const { ports } = await simulatedHost(t, { sim: { anonymousClusterInfo: false } });
  const r = await httpsGet({ endpoint: local(ports.apiserver), path: "/api/v1/namespaces/kube-public/configmaps/cluster-info", verify: false });
  assert.equal(r.status, 403);
  assert.match(r.body, /configmaps \\"cluster-info\\" is forbidden: User \\"system:anonymous\\" cannot get resource \\"configmaps\\" in API group \\"\\" in the namespace \\"kube-public\\"/);
});

test("extension-apiserver-authentication gains a renewed client CA without a restart, keeps the old one, and drops only expired certificates", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t);
  const api = await adminOf(root, ports.apiserver);
  const path = "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication";
  const pki = join(root, "etc/kubernetes/pki");
  const oldCa = new X509Certificate(await readFile(join(pki, "ca.crt"))).fingerprint256;
  const oldProxy = new X509Certificate(await readFile(join(pki, "front-proxy-ca.crt"))).fingerprint256;
  const first = await api.get<Cm>(path);
  assert.deepEqual(fingerprints(first.data["client-ca-file"]!), [oldCa]);
  assert.deepEqual(fingerprints(first.data["requestheader-client-ca-file"]!), [oldProxy]);
  assert.equal(first.data["requestheader-allowed-names"], '["front-proxy-client"]');
  const pid = kubelet.running("kube-apiserver")!.process.pid;
  const renewed = await resignedCa(root);
  const proxy = await resignedCa(root, { base: "front-proxy-ca" });
  await writeFile(join(pki, "ca.crt"), renewed.pem);
  await writeFile(join(pki, "front-proxy-ca.crt"), proxy.pem);
  const both = await eventually("the renewed CAs merged in", async () => {
    const cm = await api.get<Cm>(path);
    return fingerprints(cm.data["requestheader-client-ca-file"]!).length === 2 && fingerprints(cm.data["client-ca-file"]!).length === 2 ? cm : undefined;
  });
  assert.deepEqual(fingerprints(both.data["client-ca-file"]!), [oldCa, renewed.x509.fingerprint256], "the old one first, as the real merge keeps existing certificates");
  assert.deepEqual(fingerprints(both.data["requestheader-client-ca-file"]!), [oldProxy, proxy.x509.fingerprint256]);
  assert.equal(kubelet.running("kube-apiserver")!.process.pid, pid, "no restart");
  // Someone else's expired certificate in the bundle goes; the valid ones stay.
  const expired = await resignedCa(root, { expiredDaysAgo: 2 });
  await api.update(path, { ...both, data: { ...both.data, "client-ca-file": both.data["client-ca-file"]! + expired.pem } });
  const cleaned = await eventually("the expired certificate dropped", async () => {
    const cm = await api.get<Cm>(path);
    return fingerprints(cm.data["client-ca-file"]!).includes(expired.x509.fingerprint256) ? undefined : cm;
  });
  assert.deepEqual(fingerprints(cleaned.data["client-ca-file"]!), [oldCa, renewed.x509.fingerprint256]);
});

test("a client certificate whose chain ends at an expired CA is 401, and the same certificate is accepted again once the CA is re-signed", async (t) => {
  const { root, ports } = await simulatedHost(t);
  const admin = await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root);
  const ask = async (): Promise<number> => (await httpsGet({ endpoint: local(ports.apiserver), path: "/api/v1/namespaces", verify: false, credentials: admin })).status;
  assert.equal(await ask(), 200);
  const caFile = join(root, "etc/kubernetes/pki/ca.crt");
  // The same key and subject, but a NotAfter that has passed: the API server re-reads --client-ca-file.
  await writeFile(caFile, (await resignedCa(root, { expiredDaysAgo: 1 })).pem);
  await eventually("401 for a chain that ends at an expired CA", async () => ((await ask()) === 401 ? true : undefined));
  await writeFile(caFile, (await resignedCa(root)).pem);
  await eventually("200 with the re-signed CA", async () => ((await ask()) === 200 ? true : undefined));
});
