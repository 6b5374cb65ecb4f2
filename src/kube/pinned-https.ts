// HTTPS to the API server trusted by the pinned CA key instead of by the CA certificate: a worker's
// one way to reach the cluster after its CA certificate has expired. OpenSSL and Go refuse a chain
// whose anchor is past its NotAfter, even when the key is the same (SPEC.md, "Certificate
// authorities"); here, for these requests only, the handshake is not verified by OpenSSL
// (rejectUnauthorized: false) and the chain is verified by hand before a byte of the request is sent:
// every certificate the server presents is in its validity period, each is signed by the next, the
// last one by the pinned key under the pinned subject, and the first names the host (or IP) of
// kubelet.conf's server. Only the anchor's own dates are not checked: the key, not that
// certificate, is what the node trusts.
import { request } from "node:https";
import { checkServerIdentity, connect, type DetailedPeerCertificate, type TLSSocket } from "node:tls";
import { isIP, type Socket } from "node:net";
import { X509Certificate, type KeyObject } from "node:crypto";
import { caPartsOf } from "../ca/parts.js";
import { ApiUnreachableError } from "./client.js";

/** The API server presented a chain the pin does not trust: never a transient failure. */
export class PinError extends Error {
  override readonly name = "PinError";
}

/** The pin a request is verified by: the CA key and its subject's DER. */
export interface Pin {
  key: KeyObject;
  spki: Buffer;
  subject: Buffer;
}

/** Why `chain` (the server's certificate first) is not trusted under `pin` at `now` (epoch ms); undefined when it is. Pure. */
export function chainProblem(chain: readonly X509Certificate[], pin: Pin, now: number): string | undefined {
  if (chain.length === 0) return "the server presented no certificate";
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i]!;
    const parts = caPartsOf(c.raw, "the server's certificate");
    const name = c.subject.replace(/\n/g, ", ");
    if (parts.spki.equals(pin.spki)) {
      // The CA itself, sent along: the certificate before it was already proven signed by the key.
      return i === 0 ? "the server presents the CA certificate itself as its own" : undefined;
    }
    if (now < Date.parse(c.validFrom) || now > Date.parse(c.validTo)) return `${name} is not valid now (valid ${c.validFrom} to ${c.validTo})`;
    if (parts.issuer.equals(pin.subject) && c.verify(pin.key)) return undefined;
    const next = chain[i + 1];
    if (!next || !next.ca || !parts.issuer.equals(caPartsOf(next.raw, "the server's chain").subject) || !c.verify(next.publicKey)) {
      return `${name} is not signed by the CA key this node trusts`;
    }
  }
  return "the chain does not end at the CA key this node trusts";
}

/** The certificates a TLS peer presented, its own first. */
function presentedChain(s: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (let c: DetailedPeerCertificate | undefined = s.getPeerCertificate(true); c?.raw && out.length < 10; c = c.issuerCertificate) {
    out.push(new X509Certificate(c.raw));
    if (c.issuerCertificate === c) break; // a self-signed certificate points at itself
  }
  return out;
}

/** One request verified by a pin (see the top of this file). */
export interface PinnedRequest {
  endpoint: { host: string; port: number };
  path: string;
  method?: string;
  body?: unknown;
  pin: Pin;
  /** A client certificate and key (PEM): the kubelet's own credentials. Default: anonymous. */
  client?: { certPem: string; keyPem: string };
  timeoutMs?: number;
  /** The clock of the chain's validity check (default now). */
  now?: () => number;
}

/**
 * Sends one request on a connection of its own, after the server's chain is verified by the pin.
 * Resolves with the status and body of any answer; rejects with PinError when the server is not
 * trusted, ApiUnreachableError when it cannot be reached.
 */
export function pinnedRequest(o: PinnedRequest): Promise<{ status: number; body: string }> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const { host, port } = o.endpoint;
  const data = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  return new Promise((resolve, reject) => {
    const createConnection = (_: unknown, done: (err: Error | null, socket: Socket) => void): Socket => {
      const s = connect({
        host, port, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"], timeout: timeoutMs,
        ...(isIP(host) ? {} : { servername: host }), ...(o.client ? { cert: o.client.certPem, key: o.client.keyPem } : {}),
      });
      s.once("secureConnect", () => {
        const problem = chainProblem(presentedChain(s), o.pin, (o.now ?? Date.now)()) ?? checkServerIdentity(host, s.getPeerCertificate())?.message;
        if (problem) {
          s.destroy();
          done(new PinError(`the API server at ${host}:${port} is not trusted: ${problem}`), s);
        } else done(null, s);
      });
      s.once("timeout", () => s.destroy(new ApiUnreachableError(`${host}:${port}: no answer within ${timeoutMs} ms`)));
      s.once("error", (e) => done(e, s));
      return undefined as unknown as Socket; // the request waits for `done`: nothing is sent before the chain is verified
    };
    const req = request({
      host, port, path: o.path, method: o.method ?? "GET", createConnection, timeout: timeoutMs,
      headers: { accept: "application/json", ...(data ? { "content-type": "application/json", "content-length": data.length } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new ApiUnreachableError(`${host}:${port}: no answer within ${timeoutMs} ms`)));
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e instanceof PinError || e instanceof ApiUnreachableError) return reject(e);
      // A TLS alert after the handshake: the server refused our certificate (an expired one, another CA).
      reject(new ApiUnreachableError(`${host}:${port}: ${e.code ?? e.message}`));
    });
    req.end(data);
  });
}
