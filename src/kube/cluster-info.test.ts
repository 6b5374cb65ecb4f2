// The key-pinned fetch of the cluster's CA, against a small HTTPS server that serves the sandbox's
// apiserver.crt and whatever ConfigMaps each test gives it.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:https";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { stringify } from "yaml";
import { copySandbox, sharedSandbox } from "../../test/support/sandbox.js";
import { readCa, resignCa as redateCa } from "../../test/support/pki.js";
import { onCleanup } from "../../test/support/cleanup.js";
import { resignCa } from "../ca/resign.js";
import { issueCertificate } from "../pki/sign.js";
import { credentialsFromKubeconfig } from "./credentials.js";
import { readPinnedCa } from "./pin.js";
import { fetchClusterCa, type ClusterCa } from "./cluster-info.js";
import { RenewCertsError } from "../errors.js";

const ec = { keySpec: { type: "ec", curve: "P-256" } } as const;
const DAY = 86_400_000;

type Handler = (path: string, client: "none" | "verified" | "refused") => { status: number; body: unknown };

/** An HTTPS server with `root`'s apiserver.crt, answering every request with `handler`. */
async function apiServer(t: TestContext, root: string, handler: Handler, files = { cert: "apiserver.crt", key: "apiserver.key" }): Promise<number> {
  const pki = join(root, "etc/kubernetes/pki");
  const server = createServer({
    cert: await readFile(join(pki, files.cert)), key: await readFile(join(pki, files.key)), ca: await readFile(join(pki, "ca.crt")),
    requestCert: true, rejectUnauthorized: false,
  }, (req: IncomingMessage, res: ServerResponse) => {
    const s = req.socket as TLSSocket;
    const client = Object.keys(s.getPeerCertificate()).length === 0 ? "none" : s.authorized ? "verified" : "refused";
    const a = handler(req.url ?? "/", client);
    res.writeHead(a.status, { "content-type": "application/json" });
    res.end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  onCleanup(t, () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return (server.address() as AddressInfo).port;
}

const status = (code: number, reason: string) => ({ status: code, body: { kind: "Status", apiVersion: "v1", status: "Failure", reason, code } });

/** kube-public/cluster-info as kubeadm's bootstrap-token phase writes it, holding `caPem`. */
function clusterInfo(caPem: string, port: number) {
  const kubeconfig = stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "", cluster: { "certificate-authority-data": Buffer.from(caPem).toString("base64"), server: `https://127.0.0.1:${port}` } }], contexts: null, "current-context": "", users: null });
  return { status: 200, body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cluster-info", namespace: "kube-public" }, data: { kubeconfig } } };
}

/** The sandbox's CA re-signed with its own key now (what `ca renew` makes). */
async function renewedCa(root: string): Promise<string> {
  const { cert, key } = await readCa(root, "ca");
  return resignCa({ old: cert, key, name: "ca", now: new Date(), validityDays: 3650 }).pem;
}

async function fetch(root: string, port: number, o: { host?: string; client?: boolean } = {}): Promise<ClusterCa> {
  const creds = await credentialsFromKubeconfig(join(root, "etc/kubernetes/kubelet.conf"), root);
  return fetchClusterCa({ endpoint: { host: o.host ?? "127.0.0.1", port }, pinned: await readPinnedCa(root), namespace: "renew-certs", ...(o.client === false ? {} : { client: creds }) });
}

test("a same-key renewed CA in cluster-info is taken, even when the node's own CA certificate has expired (the server is verified by the key)", async (t) => {
  const root = await copySandbox(t, ec);
  const renewed = await renewedCa(root);
  // The node holds only an expired certificate of the CA: same key, past its NotAfter.
  await redateCa(root, "ca", { notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
  let port = 0;
  port = await apiServer(t, root, (path) => (path === "/api/v1/namespaces/kube-public/configmaps/cluster-info" ? clusterInfo(renewed, port) : status(404, "NotFound")));
  // What the kubelet meets: TLS verified by the expired certificate fails.
  const expired = await readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8");
  const plain = await new Promise<string>((resolve) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path: "/", ca: expired, agent: false }, () => resolve("answered"));
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
  assert.equal(plain, "CERT_HAS_EXPIRED");
  const got = await fetch(root, port);
  assert.equal(got.kind, "found");
  assert.equal(got.kind === "found" && got.source, "kube-public/cluster-info");
  assert.equal(got.kind === "found" && got.cert.x509.toString(), renewed);
});

test("a cluster-info CA of another key is refused with the node's pin and the fix named", async (t) => {
  const root = await copySandbox(t, ec);
  const other = await readFile(join(await sharedSandbox({ ...ec, nodeName: "other-cluster" }), "etc/kubernetes/pki/ca.crt"), "utf8");
  const port = await apiServer(t, root, (path) => (path.includes("cluster-info") ? clusterInfo(other, 1) : status(404, "NotFound")));
  const pin = (await readPinnedCa(root)).hash;
  await assert.rejects(fetch(root, port), (e: unknown) => {
    assert.ok(e instanceof RenewCertsError && e.code === "UNTRUSTED_CA", String(e));
    assert.match(e.message, /kube-public\/cluster-info has another key \(sha256:[0-9a-f]{64}\): refused, nothing was written/);
    assert.ok(e.message.includes(pin), "names the key the node trusts");
    assert.match(e.message, /kubeadm join/);
    return true;
  });
});

test("a cluster-info CA with the pinned key but another subject, or a signature that does not verify, is refused", async (t) => {
  const root = await copySandbox(t, ec);
  const { cert, key } = await readCa(root, "ca");
  const otherName = await issueCertificate({ subject: "CN=kubernetes, O=elsewhere", key, notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 3650 * DAY), extensions: [] });
  const made = resignCa({ old: cert, key, name: "ca", now: new Date(), validityDays: 3650 });
  const der = Buffer.from(made.der);
  der[der.length - 2] = der[der.length - 2]! ^ 0xff; // a byte of the signature
  const tampered = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
  for (const [pem, why] of [[otherName, /has the pinned key but another subject \(CN=kubernetes, O=elsewhere/], [tampered, /is not self-signed by that key/]] as const) {
    const port = await apiServer(t, root, (path) => (path.includes("cluster-info") ? clusterInfo(pem, 1) : status(404, "NotFound")));
    await assert.rejects(fetch(root, port), (e: unknown) => e instanceof RenewCertsError && e.code === "UNTRUSTED_CA" && why.test(e.message));
  }
});

test("an API server whose certificate is not signed by the pinned key, or does not name the host asked for, is not trusted", async (t) => {
  const root = await copySandbox(t, ec);
  const other = await copySandbox(t, { ...ec, nodeName: "other-cluster" });
  const port = await apiServer(t, other, () => clusterInfo("", 1));
  await assert.rejects(fetch(root, port), (e: unknown) => e instanceof RenewCertsError && e.code === "UNTRUSTED_CA" && /is not signed by the CA key this node trusts/.test(e.message));
  // apiserver.crt names 127.0.0.1 and kubernetes…, not "localhost".
  const own = await apiServer(t, root, () => clusterInfo("", 1));
  await assert.rejects(fetch(root, own, { host: "localhost" }), (e: unknown) => e instanceof RenewCertsError && e.code === "UNTRUSTED_CA" && /localhost/.test(e.message));
});

test("a hardened cluster (anonymous reads forbidden): kube-root-ca.crt of renew-certs' namespace, read with the kubelet's own credentials", async (t) => {
  const root = await copySandbox(t, ec);
  const renewed = await renewedCa(root);
  const seen: string[] = [];
  const port = await apiServer(t, root, (path, client) => {
    seen.push(`${client} ${path}`);
    if (client === "none") return status(403, "Forbidden");
    if (client === "verified" && path === "/api/v1/namespaces/renew-certs/configmaps/kube-root-ca.crt") return { status: 200, body: { kind: "ConfigMap", data: { "ca.crt": renewed } } };
    return status(403, "Forbidden");
  });
  const got = await fetch(root, port);
  assert.equal(got.kind === "found" && got.source, "renew-certs/kube-root-ca.crt");
  assert.equal(got.kind === "found" && got.cert.x509.toString(), renewed);
  assert.deepEqual(seen, ["none /api/v1/namespaces/kube-public/configmaps/cluster-info", "verified /api/v1/namespaces/renew-certs/configmaps/kube-root-ca.crt"]);
  assert.deepEqual(got.kind === "found" && got.tried, ["kube-public/cluster-info anonymous clients may not read it (a hardened cluster)"]);
});

test("no cluster-info and no readable kube-root-ca.crt: unavailable, saying why for each, with cluster-info absent", async (t) => {
  const root = await copySandbox(t, ec);
  const port = await apiServer(t, root, (path) => (path.includes("cluster-info") ? status(404, "NotFound") : status(403, "Forbidden")));
  const got = await fetch(root, port);
  assert.deepEqual(got, {
    kind: "unavailable", absent: true, unreachable: false,
    tried: ["kube-public/cluster-info does not exist", "renew-certs/kube-root-ca.crt (with the kubelet's credentials) the kubelet may not read it (no pod of this node mounts it: is the renew-certs DaemonSet on this node?)"],
  });
});

test("ca.crt and kubelet.conf naming different CAs: refused, both files named", async (t) => {
  const root = await copySandbox(t, ec);
  const other = await readFile(join(await sharedSandbox({ ...ec, nodeName: "other-cluster" }), "etc/kubernetes/pki/ca.crt"));
  const { writeFile } = await import("node:fs/promises");
  await writeFile(join(root, "etc/kubernetes/pki/ca.crt"), other);
  await assert.rejects(readPinnedCa(root), (e: unknown) => e instanceof RenewCertsError && e.code === "MISMATCH" &&
    /pki\/ca\.crt and the certificate-authority-data of .*kubelet\.conf name different CAs/.test(e.message));
});
