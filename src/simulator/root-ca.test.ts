import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { caMaterial, resignedCa } from "../../test/support/resigned-ca.js";
import { resignCa } from "../ca/resign.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { kubeClient, type KubeClient } from "../kube/client.js";
import { parseKubeconfig, withClusterCaData } from "../kubeconfig/kubeconfig.js";
import { annotateManifest } from "../manifests/annotate.js";
import { eventually } from "../../test/support/eventually.js";

type Cm = { metadata: { name: string; namespace: string; resourceVersion: string }; data: Record<string, string> };

/** Namespace → the ca.crt its kube-root-ca.crt holds. */
async function rootCaMaps(api: KubeClient): Promise<Map<string, string>> {
  const all = await api.get<{ items: Cm[] }>("/api/v1/configmaps");
  return new Map(all.items.filter((c) => c.metadata.name === "kube-root-ca.crt").map((c) => [c.metadata.namespace, c.data["ca.crt"]!]));
}

const everyNamespaceHolds = async (api: KubeClient, pem: string, namespaces: string[]): Promise<true | undefined> => {
  const held = await rootCaMaps(api);
  return namespaces.every((n) => held.get(n) === pem) ? true : undefined;
};

test("the controller-manager double publishes the root CA it read at start in every namespace, and only a restart makes it publish a renewed one", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t);
  const api = kubeClient({ host: "127.0.0.1", port: ports.apiserver }, await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
  const caFile = join(root, "etc/kubernetes/pki/ca.crt");
  const old = await readFile(caFile, "utf8");
  const seeded = ["default", "kube-node-lease", "kube-public", "kube-system"];
  await eventually("kube-root-ca.crt in every namespace", () => everyNamespaceHolds(api, old, seeded));
  // A ConfigMap changed by someone else is put back.
  const mine = await api.get<Cm>("/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
  await api.update("/api/v1/namespaces/default/configmaps/kube-root-ca.crt", { ...mine, data: { "ca.crt": "tampered" } });
  await eventually("the tampered ConfigMap put back", () => everyNamespaceHolds(api, old, ["default"]));
  // The renewed file is not read by the running process: a namespace made after the write gets the old CA.
  const renewed = await resignedCa(root);
  await writeFile(caFile, renewed.pem);
  await eventually("the API server to re-read its client CA", async () => {
    const eaa = await api.get<Cm>("/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication");
    return eaa.data["client-ca-file"]!.includes(renewed.pem.trim()) ? true : undefined;
  });
  await api.create("/api/v1/namespaces", { metadata: { name: "after-the-write" } });
  await eventually("the new namespace's ConfigMap", () => everyNamespaceHolds(api, old, [...seeded, "after-the-write"]));
  assert.equal(kubelet.restarts("kube-controller-manager"), 0);
  await annotateManifest(join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml"), "konvoy.d2iq.io/restartedAt", "1764300000.000001");
  await eventually("the renewed CA in every namespace after the restart", () => everyNamespaceHolds(api, renewed.pem, [...seeded, "after-the-write"]));
  assert.equal(kubelet.restarts("kube-controller-manager"), 1);
});

test("a controller-manager double whose kubeconfig holds an expired CA cannot connect to the API server, whatever the leaves say", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t, {
    prepare: async (r) => {
      const file = join(r, "etc/kubernetes/controller-manager.conf");
      const kc = await parseKubeconfig(await readFile(file, "utf8"), file, r);
      await writeFile(file, await withClusterCaData(kc, (await resignedCa(r, { expiredDaysAgo: 1 })).pem));
    },
  });
  const api = kubeClient({ host: "127.0.0.1", port: ports.apiserver }, await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
  // Refused while the API server starts, then the handshake fails on the CA's own NotAfter.
  const failure = await eventually("the controller-manager's failed handshake", async () => {
    const err = kubelet.running("kube-controller-manager")?.stderr() ?? "";
    return /publish kube-root-ca\.crt: cannot: [^\n]*CERT_HAS_EXPIRED/.test(err) ? err : undefined;
  });
  assert.doesNotMatch(failure, /publish kube-root-ca\.crt: done/);
  assert.equal((await rootCaMaps(api)).size, 0, "nothing published");
  // The same key, subject and leaves, with a CA certificate that has not expired: it publishes after a restart.
  const file = join(root, "etc/kubernetes/controller-manager.conf");
  const kc = await parseKubeconfig(await readFile(file, "utf8"), file, root);
  await writeFile(file, await withClusterCaData(kc, await readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8")));
  await annotateManifest(join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml"), "konvoy.d2iq.io/restartedAt", "1764300000.000001");
  const ca = await readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8");
  await eventually("kube-root-ca.crt after the restart", () => everyNamespaceHolds(api, ca, ["default", "kube-node-lease", "kube-public", "kube-system"]));
});

test("past its kubeconfig CA's NotAfter the controller-manager double goes on over its open connection, and fails at the next new one", async (t) => {
  const { root, ports, kubelet } = await simulatedHost(t);
  const api = kubeClient({ host: "127.0.0.1", port: ports.apiserver }, await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
  // Its kubeconfig's CA: the same key and subject, valid for 15 s more; read by the new process at its start.
  const { cert, key } = await caMaterial(root);
  const soon = resignCa({ old: cert, key, name: "ca", now: new Date(Date.now() - 86_400_000), validityDays: 1 + 15 / 86_400 });
  const file = join(root, "etc/kubernetes/controller-manager.conf");
  await writeFile(file, await withClusterCaData(await parseKubeconfig(await readFile(file, "utf8"), file, root), soon.pem));
  const before = kubelet.running("kube-controller-manager")!.process.pid;
  await annotateManifest(join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml"), "konvoy.d2iq.io/restartedAt", "1764300000.000001");
  const cm = await eventually("the restarted controller-manager", async () => {
    const c = kubelet.running("kube-controller-manager");
    return c && c.process.pid !== before ? c : undefined;
  });
  await eventually("its first round", async () => (/publish kube-root-ca\.crt: done/.test(cm.stderr()) ? true : undefined));
  assert.ok(Date.now() < soon.notAfter.getTime(), "it connected before its CA's NotAfter (else this machine is too slow for the test)");
  await new Promise((r) => setTimeout(r, soon.notAfter.getTime() + 1000 - Date.now()));
  // The cliff has passed: its connection, made before, still works (a namespace made now gets its ConfigMap).
  const ca = await readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8");
  await api.create("/api/v1/namespaces", { metadata: { name: "past-the-cliff" } });
  await eventually("kube-root-ca.crt over the open connection", () => everyNamespaceHolds(api, ca, ["past-the-cliff"]));
  assert.equal(kubelet.running("kube-controller-manager")!.process.pid, cm.process.pid);
  // A restarted API server forces every client to connect again: now its handshake fails.
  await annotateManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"), "konvoy.d2iq.io/restartedAt", "1764300000.000002");
  await eventually("the failed handshake on the new connection", async () => (/publish kube-root-ca\.crt: cannot: [^\n]*CERT_HAS_EXPIRED/.test(cm.stderr()) ? true : undefined));
});
