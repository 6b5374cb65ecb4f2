import { createRequire } from "node:module";
import type { KeyObject, X509Certificate } from "node:crypto";
import { RenewCertsError } from "../errors.js";
import { certificateFields, type CertificateFields } from "./der.js";

// node:crypto is loaded on first use, not on import: `status` reads dates only and never pays
// for loading it (a few milliseconds of a command that should feel instant).
const requireBuiltin = createRequire(import.meta.url);
let cryptoModule: typeof import("node:crypto") | undefined;
function nodeCrypto(): typeof import("node:crypto") {
  return (cryptoModule ??= requireBuiltin("node:crypto") as typeof import("node:crypto"));
}

/**
 * A certificate read from a PEM file or a kubeconfig field. Its dates, names and extensions are
 * read from the DER at once; OpenSSL's view (`x509`: signature checks, public key, fingerprint)
 * is made on first use and throws the same "cannot be parsed" error when OpenSSL rejects it.
 */
export class Certificate {
  readonly der: Buffer;
  readonly source: string;
  readonly fields: CertificateFields;
  #x509: X509Certificate | undefined;

  constructor(der: Buffer, source: string, fields: CertificateFields) {
    this.der = der;
    this.source = source;
    this.fields = fields;
  }

  get notBefore(): Date {
    return this.fields.notBefore;
  }

  get notAfter(): Date {
    return this.fields.notAfter;
  }

  get x509(): X509Certificate {
    if (!this.#x509) {
      try {
        this.#x509 = new (nodeCrypto().X509Certificate)(this.der);
      } catch (cause) {
        throw unparseable(this.source, cause);
      }
    }
    return this.#x509;
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
  const der = Buffer.from(body, "base64");
  try {
    return new Certificate(der, source, certificateFields(der));
  } catch (cause) {
    throw unparseable(source, cause);
  }
}

/** Parses a PEM private key (PKCS#1, SEC1 or PKCS#8). `source` names the file for the error. */
export function parsePrivateKeyPem(text: string, source: string): KeyObject {
  const types = pemTypes(text);
  if (!types.some((t) => t.endsWith("PRIVATE KEY"))) {
    throw new RenewCertsError("PEM", `${source} is not a PEM private key: restore the file from a backup`, { file: source });
  }
  try {
    return nodeCrypto().createPrivateKey({ key: text, format: "pem" });
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
