import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { RenewCertsError } from "../errors.js";

/**
 * A certificate read from a PEM file or a kubeconfig field, parsed by OpenSSL (node:crypto): its
 * dates for `status` and the policy; signature checks, public key and fingerprint through `x509`.
 * The X.509 library reads the rest (names, extensions) when a renewal needs it (pki/sign.ts).
 */
export class Certificate {
  readonly der: Buffer;
  readonly source: string;
  readonly x509: X509Certificate;
  readonly notBefore: Date;
  readonly notAfter: Date;

  constructor(der: Buffer, source: string) {
    this.der = der;
    this.source = source;
    try {
      this.x509 = new X509Certificate(der);
    } catch (cause) {
      throw unparseable(source, cause);
    }
    // OpenSSL reads the first certificate and ignores what follows: trailing bytes are damage too.
    if (this.x509.raw.length !== der.length) throw unparseable(source);
    this.notBefore = new Date(this.x509.validFrom);
    this.notAfter = new Date(this.x509.validTo);
    if (Number.isNaN(this.notBefore.getTime()) || Number.isNaN(this.notAfter.getTime())) throw unparseable(source);
  }
}

function unparseable(source: string, cause?: unknown): RenewCertsError {
  return new RenewCertsError("PEM", `${source} holds a certificate that cannot be parsed (truncated or corrupt): restore the file from a backup`, { file: source, cause });
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The PEM block types found in `text`, in order ("CERTIFICATE", "RSA PRIVATE KEY"…). */
export function pemTypes(text: string): string[] {
  return [...text.matchAll(BLOCK)].map((m) => m[1] ?? "");
}

/**
 * Parses the first certificate of a PEM text. `source` names the file (or the kubeconfig field)
 * for the error message. Rejects text that is not PEM, a key where a certificate belongs and a
 * truncated or corrupt certificate, each with its own message.
 */
export function parseCertificatePem(text: string, source: string): Certificate {
  const types = pemTypes(text);
  if (!types.includes("CERTIFICATE")) {
    if (types.some((t) => t.endsWith("PRIVATE KEY"))) {
      throw new RenewCertsError("PEM", `${source} holds a private key where a certificate belongs: put the certificate back (restore it from a backup)`, { file: source });
    }
    if (text.includes("-----BEGIN CERTIFICATE-----")) {
      throw new RenewCertsError("PEM", `${source} holds a truncated certificate (no END line): restore the file from a backup`, { file: source });
    }
    throw new RenewCertsError("PEM", `${source} is not a PEM certificate: restore the file from a backup`, { file: source });
  }
  const body = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text)?.[1] ?? "";
  if (!/^[A-Za-z0-9+/=\s]+$/.test(body)) throw unparseable(source);
  return new Certificate(Buffer.from(body, "base64"), source);
}

/** Parses a PEM private key (PKCS#1, SEC1 or PKCS#8). `source` names the file for the error. */
export function parsePrivateKeyPem(text: string, source: string): KeyObject {
  const types = pemTypes(text);
  if (!types.some((t) => t.endsWith("PRIVATE KEY"))) {
    throw new RenewCertsError("PEM", `${source} is not a PEM private key: restore the file from a backup`, { file: source });
  }
  try {
    return createPrivateKey({ key: text, format: "pem" });
  } catch (cause) {
    throw new RenewCertsError("PEM", `${source} holds a private key that cannot be parsed (truncated or corrupt): restore the file from a backup`, { file: source, cause });
  }
}

/** Decodes a kubeconfig's base64 `*-data` field, rejecting anything that is not base64. */
export function decodeBase64Field(value: unknown, source: string): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9+/=\s]+$/.test(value) || value.trim() === "") {
    throw new RenewCertsError("KUBECONFIG", `${source} is not base64 data: restore the kubeconfig from a backup`, { file: source });
  }
  return Buffer.from(value, "base64").toString("utf8");
}
