// TLS and HTTPS as renew-certs speaks them to the control plane: every probe on a connection of
// its own (a pooled connection would show what an old process served), the served certificate
// read from the handshake.
import { request } from "node:https";
import { connect, type TLSSocket } from "node:tls";
import type { X509Certificate } from "node:crypto";
import type { Endpoint } from "../manifests/manifest.js";
import type { ClientCredentials } from "./credentials.js";

/** Per-request timeout of the probes, in milliseconds. */
export const REQUEST_TIMEOUT_MS = 5000;

/** Who served a TLS handshake: its certificate, and the start time a self-signed one names. */
export interface TlsIdentity {
  /** SHA-256 fingerprint ("AB:CD:…"). */
  fingerprint: string;
  subject: string;
  /** NotBefore and NotAfter, epoch milliseconds. */
  validFrom: number;
  validTo: number;
  /**
   * The process start a certificate made in memory names in its subject ("CN=host@<unix
   * seconds>", client-go's certutil), epoch milliseconds; undefined for any other certificate.
   */
  startedAt: number | undefined;
}

/** Normalises a fingerprint ("ab:cd…", "ABCD…") for comparison. */
export function sameFingerprint(a: string | undefined, b: string | undefined): boolean {
  const n = (s: string | undefined): string => (s ?? "").replace(/:/g, "").toUpperCase();
  return a !== undefined && b !== undefined && n(a) === n(b);
}

/** The identity of a certificate (see TlsIdentity). */
export function identityOf(c: X509Certificate): TlsIdentity {
  const at = /(?:^|\n)CN=[^@\n]*@(\d{9,11})(?:\n|$)/.exec(c.subject);
  return { fingerprint: c.fingerprint256, subject: c.subject.replace(/\n/g, ", "), validFrom: Date.parse(c.validFrom), validTo: Date.parse(c.validTo), startedAt: at ? Number(at[1]) * 1000 : undefined };
}

/**
 * The certificate served at `endpoint` on a fresh connection, asking for `servername` when given
 * (no verification: only its identity matters). Rejects when nothing answers within `timeoutMs`.
 */
export function servedIdentity(endpoint: Endpoint, o: { servername?: string; timeoutMs?: number } = {}): Promise<TlsIdentity> {
  const timeoutMs = o.timeoutMs ?? REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const s: TLSSocket = connect({ host: endpoint.host, port: endpoint.port, rejectUnauthorized: false, timeout: timeoutMs, ...(o.servername ? { servername: o.servername } : {}) });
    s.once("secureConnect", () => {
      const c = s.getPeerX509Certificate();
      s.destroy();
      if (c) resolve(identityOf(c));
      else reject(new Error("no certificate served"));
    });
    s.once("timeout", () => s.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    s.once("error", reject);
  });
}

/** The SHA-256 fingerprint of the certificate served at `endpoint` (see servedIdentity). */
export async function servedFingerprint(endpoint: Endpoint, timeoutMs = REQUEST_TIMEOUT_MS): Promise<string> {
  return (await servedIdentity(endpoint, { timeoutMs })).fingerprint;
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
