import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPublicKey, webcrypto, type KeyObject } from "node:crypto";
import { keySpecOf, toCryptoKey, signingAlgorithm } from "./keys.js";
import { subjectKeyIdOf } from "./der.js";
import { randomSerial } from "./resign.js";
import type { Certificate } from "./pem.js";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { OID } from "./der.js";

/** The signer of a certificate: its CA certificate and private key. */
export interface Issuer {
  cert: Certificate;
  key: KeyObject;
}

/** Everything needed to issue one certificate. Time and randomness come in as values. */
export interface IssueParams {
  /** The subject: raw DER of an X.500 Name (to keep every attribute in order) or "CN=…, O=…". */
  subject: ArrayBuffer | string;
  /** The key the certificate certifies (a private key is reduced to its public half). */
  key: KeyObject;
  /** The CA that signs; omitted for a self-signed CA. */
  issuer?: Issuer;
  notBefore: Date;
  notAfter: Date;
  /** Extensions in order; the authority key identifier is added from the issuer's subject key id. */
  extensions: x509.Extension[];
  /** Serial number as hex; default: 16 random bytes, positive. */
  serialHex?: string;
}

/** Issues a certificate and returns it as PEM. */
export async function issueCertificate(p: IssueParams): Promise<string> {
  const subjectKey = p.key.type === "private" ? createPublicKey(p.key) : p.key;
  const subjectSpec = keySpecOf(subjectKey, "new key");
  const publicKey = await toCryptoKey(subjectKey, subjectSpec);
  const signerKey = p.issuer?.key ?? p.key;
  const signerSpec = keySpecOf(signerKey, "signing key");
  const signingKey = await toCryptoKey(signerKey, signerSpec);
  const extensions = [...p.extensions];
  if (p.issuer) {
    const aki = subjectKeyIdOf(p.issuer.cert.fields)?.toString("hex");
    if (aki) extensions.push(new x509.AuthorityKeyIdentifierExtension(aki));
  }
  const issuerName = p.issuer ? arrayBuffer(p.issuer.cert.fields.subject) : p.subject;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: p.serialHex ?? randomSerial().toString("hex"),
    subject: typeof p.subject === "string" ? p.subject : new x509.Name(p.subject),
    issuer: typeof issuerName === "string" ? issuerName : new x509.Name(issuerName),
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    publicKey,
    signingKey,
    signingAlgorithm: signingAlgorithm(signerSpec),
    extensions,
  });
  return cert.toString("pem") + "\n";
}

/** The extensions of an existing certificate, as raw extension objects, in order. */
export function extensionsOf(cert: Certificate): x509.Extension[] {
  return cert.fields.extensions.map((e) => new x509.Extension(arrayBuffer(e.der)));
}

/** The raw DER of the subject Name of a certificate (every attribute, in order). */
export function subjectDer(cert: Certificate): ArrayBuffer {
  return arrayBuffer(cert.fields.subject);
}

function arrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A subject key identifier extension for `key` (SHA-1 of the public key, as Go computes it). */
export async function subjectKeyIdExtension(key: KeyObject): Promise<x509.Extension> {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  const cryptoKey = await toCryptoKey(pub, keySpecOf(pub, "new key"));
  return x509.SubjectKeyIdentifierExtension.create(cryptoKey);
}

export { x509 };
