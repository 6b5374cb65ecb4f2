// One certificate per CA for the whole cluster, as `run` sees it through the API server double: a
// host whose CA is due adopts the certificate another host published (same key) instead of making
// its own; a host that re-signed on its own converges on the published one at its next run; a host
// that re-signs publishes, and the cluster objects are checked after the restarts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { resignedCa } from "../../test/support/resigned-ca.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { kubeClient } from "../kube/client.js";
import { publishCa, readPublishedCa } from "../ca/cluster.js";
import { runJob } from "./job.js";

const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 60, fallbackAfterSeconds: 1 };
const fast = { intervalMs: 50 } as const;
const PKI = "etc/kubernetes/pki";
const fingerprint = async (root: string, file: string): Promise<string> => new X509Certificate(await readFile(join(root, PKI, file))).fingerprint256;

test("a host whose front-proxy-ca is due adopts the exact certificate another host published, and restarts nothing for it", async (t) => {
  const { root, ports } = await simulatedHost(t, { caAgeDays: 3400 });
  const api = kubeClient({ host: "127.0.0.1", port: ports.apiserver }, await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
  // "Another host" renewed first: a certificate of the same key, published where run looks.
  const other = await resignedCa(root, { base: "front-proxy-ca" });
  await publishCa(api, "front-proxy-ca", other.pem);
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, ...fast });
  assert.equal(outcome.kind, "renewed");
  assert.equal(await fingerprint(root, "front-proxy-ca.crt"), other.x509.fingerprint256, "the published certificate, not one made here");
  assert.ok(log.lines.some((l) => /^front-proxy-ca: adopting the certificate published in kube-system\/renew-certs-ca/.test(l.msg)));
  // The others were re-signed here, and published for the next host.
  for (const [ca, file] of [["ca", "ca.crt"], ["etcd-ca", "etcd/ca.crt"]] as const) {
    const published = await readPublishedCa(api, ca);
    assert.equal(published && new X509Certificate(published.pem).fingerprint256, await fingerprint(root, file), `${ca} published`);
  }
  assert.ok(log.lines.some((l) => /^ca: kube-public\/cluster-info holds the new certificate/.test(l.msg)), log.lines.map((l) => l.msg).join("\n"));
});

test("a host that re-signed on its own while the API was away converges on the published certificate at its next run", async (t) => {
  const { root, ports } = await simulatedHost(t, { caAgeDays: 3400 });
  // This host's own renewal, made without the API (as a host whose CA had expired does).
  const first = await runJob({ root, settings, log: memoryLogger(), ...fast, caCluster: (await import("../ca/cluster-port.js")).NO_CA_CLUSTER });
  assert.equal(first.kind, "renewed");
  const api = kubeClient({ host: "127.0.0.1", port: ports.apiserver }, await credentialsFromKubeconfig(join(root, "etc/kubernetes/admin.conf"), root));
  // Meanwhile another host published its own certificate of the same key.
  const other = await resignedCa(root, { base: "etcd/ca" });
  await publishCa(api, "etcd-ca", other.pem);
  assert.notEqual(await fingerprint(root, "etcd/ca.crt"), other.x509.fingerprint256);
  const log = memoryLogger();
  const next = await runJob({ root, settings, log, ...fast });
  assert.equal(next.kind, "renewed");
  assert.deepEqual(next.kind === "renewed" && next.cas, ["etcd-ca"]);
  assert.equal(await fingerprint(root, "etcd/ca.crt"), other.x509.fingerprint256, "converged on the published certificate");
  assert.deepEqual(next.kind === "renewed" && next.steps.map((s) => s.component), ["etcd", "kube-apiserver"], "what reads etcd-ca at start restarted");
  // Its ca, which nobody published, is published by the next run; then it is settled.
  assert.notEqual(new X509Certificate((await readPublishedCa(api, "ca"))!.pem).fingerprint256, await fingerprint(root, "ca.crt"));
  assert.equal((await runJob({ root, settings, log: memoryLogger(), ...fast })).kind, "not-due");
  assert.equal(new X509Certificate((await readPublishedCa(api, "ca"))!.pem).fingerprint256, await fingerprint(root, "ca.crt"), "published at the run after");
  assert.equal((await runJob({ root, settings, log: memoryLogger(), ...fast })).kind, "not-due");
});
