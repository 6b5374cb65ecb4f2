// The raw parts of a certificate that re-signing copies and that the trust locations are compared
// by: subject, issuer and SubjectPublicKeyInfo as DER, and each extension as the bytes it is.
import { childrenOf, contentOf, rawOf, readTlv } from "./der.js";

/** The parts of a certificate re-signing copies, as raw DER. */
export interface CaParts {
  serialHex: string;
  issuer: Buffer;
  subject: Buffer;
  spki: Buffer;
  /** Each Extension element (OID, critical, value), in order, with its OID in dotted text. */
  extensions: { oid: string; raw: Buffer }[];
}

/** The extensions renew-certs knows by name (OID bytes → dotted text). */
const OIDS: Record<string, string> = {
  "551d0e": "2.5.29.14", "551d0f": "2.5.29.15", "551d11": "2.5.29.17", "551d13": "2.5.29.19", "551d23": "2.5.29.35", "551d25": "2.5.29.37",
};

/** Splits a certificate's TBSCertificate into the raw parts re-signing copies. */
export function caPartsOf(der: Uint8Array, source: string): CaParts {
  const cert = readTlv(der, 0, source);
  const tbs = childrenOf(der, cert, source)[0]!;
  const f = childrenOf(der, tbs, source);
  let i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] version, absent in a v1 certificate
  const serial = f[i++]!;
  i++; // the signature algorithm: chosen anew from the key
  const issuer = f[i++]!;
  i++; // the validity: chosen anew
  const subject = f[i++]!;
  const spki = f[i++]!;
  const extWrapper = f.slice(i).find((t) => t.tag === 0xa3);
  const extensions = extWrapper ? childrenOf(der, childrenOf(der, extWrapper, source)[0]!, source).map((e) => {
    const oid = childrenOf(der, e, source)[0]!;
    const hex = contentOf(der, oid).toString("hex");
    return { oid: OIDS[hex] ?? hex, raw: rawOf(der, e) };
  }) : [];
  return { serialHex: contentOf(der, serial).toString("hex"), issuer: rawOf(der, issuer), subject: rawOf(der, subject), spki: rawOf(der, spki), extensions };
}


/**
 * True when a certificate's authority key identifier names its issuer by issuer name and serial
 * (authorityCertIssuer + authorityCertSerialNumber, RFC 5280 4.2.1.1), not only by key identifier:
 * OpenSSL then requires that exact serial in its CA (X509_check_issued), so a re-signed CA, with a
 * new serial, no longer issues it for OpenSSL (Go ignores that form).
 */
export function namesIssuerSerial(der: Uint8Array, source: string): boolean {
  const akid = caPartsOf(der, source).extensions.find((e) => e.oid === "2.5.29.35");
  if (!akid) return false;
  const fields = childrenOf(akid.raw, readTlv(akid.raw, 0, source), source);
  const octets = contentOf(akid.raw, fields[fields.length - 1]!);
  return childrenOf(octets, readTlv(octets, 0, source), source).some((t) => t.tag === 0x82);
}
