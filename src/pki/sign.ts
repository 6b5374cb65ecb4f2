import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPublicKey, randomBytes, webcrypto, type KeyObject } from "node:crypto";
import { keySpecOf, toCryptoKey, signingAlgorithm } from "./keys.js";
import type { Certificate } from "./pem.js";

// The one builder of certificates: @peculiar/x509 on Node's WebCrypto. It also reads what OpenSSL
// (node:crypto) does not show: names as DER, extensions and their criticality.
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** OIDs of the extensions renew-certs reads or writes. */
export const OID = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

/** The signer of a certificate: its CA certificate and private key. */
export interface Issuer {
  cert: Certificate;
  key: KeyObject;
}

/** Everything needed to issue one certificate. Time and randomness come in as values. */
export interface IssueParams {
  /** The subject: a Name (read from an old certificate), raw DER of one, or "CN=…, O=…". */
  subject: x509.Name | ArrayBuffer | string;
  /** The key the certificate certifies (a private key is reduced to its public half). */
  key: KeyObject;
  /** The CA that signs; omitted for a self-signed CA. */
  issuer?: Issuer;
  notBefore: Date;
  notAfter: Date;
  /** Extensions in order; the authority key identifier is added from the issuer's subject key id. */
  extensions: x509.Extension[];
  /** Serial number as hex; default: randomSerial(). */
  serialHex?: string;
}

const parsed = new WeakMap<Certificate, x509.X509Certificate>();

/** The X.509 library's reading of a certificate, made once per certificate. */
export function parsedCertificate(cert: Certificate): x509.X509Certificate {
  let p = parsed.get(cert);
  if (!p) {
    p = new x509.X509Certificate(new Uint8Array(cert.der));
    parsed.set(cert, p);
  }
  return p;
}

/** A fresh random positive serial number as hex: 16 bytes, never a leading zero byte. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString("hex");
}

/** The hex key identifier in a certificate's subject key identifier extension, when it has one. */
export function subjectKeyIdOf(cert: Certificate): string | undefined {
  return parsedCertificate(cert).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
}

/** Issues a certificate; returns the library's reading of it. */
async function issue(p: IssueParams): Promise<x509.X509Certificate> {
  const subjectKey = p.key.type === "private" ? createPublicKey(p.key) : p.key;
  const signerKey = p.issuer?.key ?? p.key;
  const signerSpec = keySpecOf(signerKey, "signing key");
  const extensions = [...p.extensions];
  if (p.issuer) {
    const aki = subjectKeyIdOf(p.issuer.cert);
    if (aki) extensions.push(new x509.AuthorityKeyIdentifierExtension(aki));
  }
  const subject = typeof p.subject === "string" || p.subject instanceof x509.Name ? p.subject : new x509.Name(p.subject);
  return x509.X509CertificateGenerator.create({
    serialNumber: p.serialHex ?? randomSerial(),
    subject,
    issuer: p.issuer ? parsedCertificate(p.issuer.cert).subjectName : subject,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    publicKey: subjectKey.export({ type: "spki", format: "der" }),
    signingKey: await toCryptoKey(signerKey, signerSpec),
    signingAlgorithm: signingAlgorithm(signerSpec),
    extensions,
  });
}

/** Issues a certificate and returns it as PEM (with a final newline). */
export async function issueCertificate(p: IssueParams): Promise<string> {
  return (await issue(p)).toString("pem") + "\n";
}

/** The extensions of an existing certificate, in order. */
export function extensionsOf(cert: Certificate): x509.Extension[] {
  return [...parsedCertificate(cert).extensions];
}

/** The DER of the subject Name of a certificate (every attribute, in order). */
export function subjectDer(cert: Certificate): ArrayBuffer {
  return parsedCertificate(cert).subjectName.toArrayBuffer();
}

/** A subject key identifier extension for `key` (SHA-1 of the public key, as Go computes it). */
export async function subjectKeyIdExtension(key: KeyObject): Promise<x509.Extension> {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return x509.SubjectKeyIdentifierExtension.create(pub.export({ type: "spki", format: "der" }));
}

export { x509 };
