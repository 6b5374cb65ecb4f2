import { request } from "node:https";
import { connect, type TLSSocket } from "node:tls";
import { join } from "node:path";
import type { Endpoint } from "../manifests/manifest.js";
import { formatEndpoint } from "../manifests/manifest.js";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";
import { RenewCertsError } from "../errors.js";
import { readText } from "../util/fs.js";
import { LAYOUT } from "../inventory/catalog.js";

/** The answer of one health probe. */
export interface HealthResult {
  healthy: boolean;
  /** What was seen, for people ("serves the old certificate", "/livez answered 500"). */
  detail: string;
  /** SHA-256 fingerprint of the served certificate, when a TLS connection was made. */
  fingerprint?: string;
}

/** One health probe; it never throws (a failure is an unhealthy result). */
export type HealthCheck = () => Promise<HealthResult>;

/** PEM client credentials and the CA that verifies the server (from a kubeconfig). */
export interface ClientCredentials {
  certPem: string;
  keyPem: string;
  caPem: string;
}

/** Per-request timeout of the probes, in milliseconds. */
export const REQUEST_TIMEOUT_MS = 5000;

/** Normalises a fingerprint ("ab:cd…", "ABCD…") for comparison. */
export function sameFingerprint(a: string | undefined, b: string | undefined): boolean {
  const n = (s: string | undefined): string => (s ?? "").replace(/:/g, "").toUpperCase();
  return a !== undefined && b !== undefined && n(a) === n(b);
}

function why(e: unknown): string {
  return e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
}

/**
 * The SHA-256 fingerprint of the certificate served at `endpoint` (no verification: only its
 * identity matters). Rejects when nothing answers within `timeoutMs`.
 */
export function servedFingerprint(endpoint: Endpoint, timeoutMs = REQUEST_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const s: TLSSocket = connect({ host: endpoint.host, port: endpoint.port, rejectUnauthorized: false, timeout: timeoutMs });
    s.once("secureConnect", () => {
      const fp = s.getPeerX509Certificate()?.fingerprint256;
      s.destroy();
      if (fp) resolve(fp);
      else reject(new Error("no certificate served"));
    });
    s.once("timeout", () => s.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    s.once("error", reject);
  });
}

/** An HTTPS GET on its own connection; the served certificate's fingerprint comes with the answer. */
export function httpsGet(o: { endpoint: Endpoint; path: string; verify: boolean; credentials?: ClientCredentials; timeoutMs?: number }): Promise<{ status: number; body: string; fingerprint: string | undefined }> {
  const timeoutMs = o.timeoutMs ?? REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = request({
      host: o.endpoint.host, port: o.endpoint.port, path: o.path, method: "GET", agent: false, timeout: timeoutMs,
      rejectUnauthorized: o.verify,
      ...(o.credentials ? { ca: o.credentials.caPem, cert: o.credentials.certPem, key: o.credentials.keyPem } : {}),
    }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerX509Certificate?.()?.fingerprint256;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => { if (body.length < 65_536) body += d; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
      res.on("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once("error", reject);
    req.end();
  });
}

/**
 * kube-apiserver is healthy when the certificate it serves at `endpoint` is the expected (new)
 * one and /livez answers 200 "ok" to the given client credentials, verified against their CA.
 */
export function apiserverCheck(o: { endpoint: Endpoint; expectedFingerprint: string; credentials: ClientCredentials; timeoutMs?: number }): HealthCheck {
  const where = formatEndpoint(o.endpoint);
  return async () => {
    try {
      const r = await httpsGet({ endpoint: o.endpoint, path: "/livez", verify: true, credentials: o.credentials, timeoutMs: o.timeoutMs });
      const base = { fingerprint: r.fingerprint };
      if (!sameFingerprint(r.fingerprint, o.expectedFingerprint)) return { ...base, healthy: false, detail: `${where} serves another certificate than the renewed one (sha256 ${r.fingerprint?.slice(0, 23)}…): not restarted yet` };
      if (r.status !== 200 || r.body.trim() !== "ok") return { ...base, healthy: false, detail: `${where}/livez answered ${r.status} ${JSON.stringify(r.body.trim().slice(0, 200))}` };
      return { ...base, healthy: true, detail: `${where} serves the renewed certificate and /livez is ok` };
    } catch (e) {
      return { healthy: false, detail: `${where}/livez: ${why(e)}` };
    }
  };
}

/**
 * kube-controller-manager / kube-scheduler are healthy when /healthz at `endpoint` answers 200
 * "ok". Their serving certificates are self-signed at every start (as kubeadm's probes do, the
 * chain is not verified), so a `previousFingerprint` taken before the restart proves that the
 * process answering is a new one.
 */
export function healthzCheck(o: { endpoint: Endpoint; previousFingerprint?: string; path?: string; timeoutMs?: number }): HealthCheck {
  const path = o.path ?? "/healthz";
  const where = `${formatEndpoint(o.endpoint)}${path}`;
  return async () => {
    try {
      const r = await httpsGet({ endpoint: o.endpoint, path, verify: false, timeoutMs: o.timeoutMs });
      const base = { fingerprint: r.fingerprint };
      if (o.previousFingerprint && sameFingerprint(r.fingerprint, o.previousFingerprint)) return { ...base, healthy: false, detail: `${where}: the process from before the restart still answers` };
      if (r.status !== 200 || r.body.trim() !== "ok") return { ...base, healthy: false, detail: `${where} answered ${r.status} ${JSON.stringify(r.body.trim().slice(0, 200))}` };
      return { ...base, healthy: true, detail: `${where} is ok` };
    } catch (e) {
      return { healthy: false, detail: `${where}: ${why(e)}` };
    }
  };
}

/**
 * The client credentials and CA of a kubeconfig (admin.conf), embedded or in files (absolute
 * paths resolve under `root`). Without a CA in the kubeconfig, pki/ca.crt under `root` is used.
 */
export async function credentialsFromKubeconfig(file: string, root = "/"): Promise<ClientCredentials> {
  const kc = await parseKubeconfig(await readText(file, "kubeconfig"), file, root);
  const pem = async (src: typeof kc.clientCertificate, what: string): Promise<string> => {
    if (!src) throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: user ${kc.userName} has no ${what}: restore it from a backup`, { file });
    return src.kind === "data" ? src.pem : readText(src.hostPath, what);
  };
  let caPem = kc.caPem;
  if (caPem === undefined) {
    caPem = await readText(kc.caFile ?? join(root, LAYOUT.pkiDir, "ca.crt"), "CA certificate");
  }
  return { certPem: await pem(kc.clientCertificate, "client certificate"), keyPem: await pem(kc.clientKey, "client key"), caPem };
}
