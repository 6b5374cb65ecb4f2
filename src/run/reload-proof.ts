// Proof that a component left running (restartMode minimal) runs the certificates on disk: what it
// serves on fresh connections, never what it was told. Each claim would be false without the reload:
// - kube-apiserver: a fresh connection is served the expected apiserver.crt and /livez answers "ok" to
//   the client certificate of admin.conf as it is now; its loopback certificate (made at its start)
//   is the one from before: the same process, nothing restarted it.
// - etcd: its client port serves the server.crt on disk, its peer port the peer.crt on disk, and it
//   answers GET /health to the apiserver-etcd-client certificate on disk (the one kube-apiserver
//   presents at its next connection to etcd).
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import type { Endpoint, ManifestInfo } from "../manifests/manifest.js";
import { formatEndpoint } from "../manifests/manifest.js";
import { LAYOUT } from "../inventory/catalog.js";
import { sameFingerprint } from "../kube/tls.js";
import { LOOPBACK_SERVER_NAME, type Evidence } from "./identity.js";
import { healthOf, type Expected, type Probes } from "./prove.js";
import type { ComponentStep } from "./state.js";

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
const why = (e: unknown): string => (e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e));

async function apiserverReloaded(step: ComponentStep, m: ManifestInfo, probes: Probes, expected: Expected): Promise<Evidence> {
  const h = await healthOf(m, { proven: true, by: "", detail: "" }, probes, expected);
  if (!h.healthy) return { proven: false, by: "", detail: h.detail };
  const loopback = await probes.tls(m.advertiseEndpoint, LOOPBACK_SERVER_NAME);
  const was = step.before.tls;
  if (!loopback) return { proven: false, by: "", detail: `${h.detail}, but it serves no loopback certificate` };
  if (was && sameFingerprint(loopback.fingerprint, was.fingerprint)) {
    return { proven: true, by: "reload", detail: `${h.detail}; loopback certificate unchanged (${loopback.subject}): the same process, not restarted`, identity: { tls: loopback } };
  }
  if (loopback.startedAt !== undefined && loopback.startedAt >= Math.floor(step.writtenAt / 1000) * 1000) {
    // Something else restarted it after the files were written: it loaded them all at its start.
    return { proven: true, by: "loopback certificate", detail: `${h.detail}; it was restarted meanwhile, not by this run (loopback certificate made at ${clock(loopback.startedAt)})`, identity: { tls: loopback } };
  }
  return { proven: false, by: "", detail: `${h.detail}, but its loopback certificate changed to one made before the renewal (${loopback.subject})` };
}

/** The first URL of an etcd URL flag ("https://127.0.0.1:2379,https://10.0.0.1:2379"), loopback preferred. */
export function etcdEndpoint(m: ManifestInfo, flag: "listen-client-urls" | "listen-peer-urls"): Endpoint | undefined {
  const urls = (m.flags.get(flag) ?? "").split(",").map((u) => u.trim()).filter(Boolean).map((u) => { try { return new URL(u); } catch { return undefined; } }).filter((u): u is URL => !!u && u.port !== "");
  const u = urls.find((x) => x.hostname === "127.0.0.1" || x.hostname === "[::1]") ?? urls[0];
  return u ? { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) } : undefined;
}

/** Where etcd serves, and the files it must serve and accept, as its manifest and kubeadm's layout say. */
export interface EtcdTarget {
  client: Endpoint;
  peer: Endpoint;
  /** Files under --root (absolute). */
  serverCert: string;
  peerCert: string;
  ca: string;
  clientCert: string;
  clientKey: string;
}

/** The target of etcd's reload proof, from its manifest; undefined when the manifest lacks a client or peer URL. */
export function etcdTarget(root: string, m: ManifestInfo): EtcdTarget | undefined {
  const client = etcdEndpoint(m, "listen-client-urls");
  const peer = etcdEndpoint(m, "listen-peer-urls");
  if (!client || !peer) return undefined;
  const under = (flag: string, fallback: string): string => join(root, m.flags.get(flag) ?? fallback);
  const pki = `/${LAYOUT.pkiDir}`;
  return {
    client, peer,
    serverCert: under("cert-file", `${pki}/etcd/server.crt`), peerCert: under("peer-cert-file", `${pki}/etcd/peer.crt`), ca: under("trusted-ca-file", `${pki}/etcd/ca.crt`),
    clientCert: join(root, LAYOUT.pkiDir, "apiserver-etcd-client.crt"), clientKey: join(root, LAYOUT.pkiDir, "apiserver-etcd-client.key"),
  };
}

/** Whether etcd serves and accepts the files on disk (see the top of this file). */
export async function etcdReloaded(t: EtcdTarget, probes: Pick<Probes, "get">): Promise<Evidence> {
  let files: { server: string; peer: string; credentials: { caPem: string; certPem: string; keyPem: string } };
  try {
    const [server, peer, caPem, certPem, keyPem] = await Promise.all([t.serverCert, t.peerCert, t.ca, t.clientCert, t.clientKey].map((f) => readFile(f, "utf8")));
    files = { server: new X509Certificate(server!).fingerprint256, peer: new X509Certificate(peer!).fingerprint256, credentials: { caPem: caPem!, certPem: certPem!, keyPem: keyPem! } };
  } catch (e) {
    return { proven: false, by: "", detail: `cannot read etcd's certificates: ${why(e)}` };
  }
  const at = (e: Endpoint): string => formatEndpoint(e);
  try {
    const health = await probes.get({ endpoint: t.client, path: "/health", verify: false, credentials: files.credentials });
    if (!sameFingerprint(health.fingerprint, files.server)) return { proven: false, by: "", detail: `${at(t.client)} serves another certificate than ${t.serverCert}` };
    if (health.status !== 200 || !/"health":\s*"true"/.test(health.body)) return { proven: false, by: "", detail: `${at(t.client)}/health answered ${health.status} ${JSON.stringify(health.body.trim().slice(0, 200))} to apiserver-etcd-client` };
  } catch (e) {
    return { proven: false, by: "", detail: `${at(t.client)}/health with apiserver-etcd-client: ${why(e)}` };
  }
  try {
    const peer = await probes.get({ endpoint: t.peer, path: "/version", verify: false, credentials: files.credentials });
    if (!sameFingerprint(peer.fingerprint, files.peer)) return { proven: false, by: "", detail: `${at(t.peer)} (peer) serves another certificate than ${t.peerCert}` };
  } catch (e) {
    return { proven: false, by: "", detail: `${at(t.peer)} (peer): ${why(e)}` };
  }
  return { proven: true, by: "reload", detail: `${at(t.client)} serves ${t.serverCert.split("/").slice(-2).join("/")} and /health accepts apiserver-etcd-client; ${at(t.peer)} serves ${t.peerCert.split("/").slice(-2).join("/")}`, identity: {} };
}

/** Evidence that `step`'s component, not restarted, runs the files on disk. */
export async function reloadEvidence(o: { root: string; step: ComponentStep; manifest: ManifestInfo; probes: Probes; expected: Expected }): Promise<Evidence> {
  const m = o.manifest;
  if (m.component === "kube-apiserver") return apiserverReloaded(o.step, m, o.probes, o.expected);
  if (m.component === "etcd") {
    const t = etcdTarget(o.root, m);
    return t ? etcdReloaded(t, o.probes) : { proven: false, by: "", detail: `${m.file} names no --listen-client-urls or --listen-peer-urls to check` };
  }
  return { proven: false, by: "", detail: `${m.component} is not known to reload its certificates` };
}
