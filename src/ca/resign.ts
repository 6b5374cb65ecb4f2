// Re-signing a self-signed CA certificate with its own key: the renewal that keeps every leaf.
//
// What is kept, byte for byte: the subject Name (and so the issuer, the same bytes), the
// SubjectPublicKeyInfo, and every extension (subject key identifier present or absent as it was,
// basicConstraints with its path length, keyUsage, subjectAltName…). What changes: a fresh serial,
// the validity, and an authority key identifier reduced to its key identifier (see below).
// Sources:
// - Go matches a leaf's issuer to its CA's subject by raw bytes (crypto/x509 verify.go, isValid:
//   `bytes.Equal(child.RawIssuer, c.RawSubject)`; cert_pool.go indexes candidates by
//   string(cert.RawSubject) and by SubjectKeyId), so the subject is copied as DER (der.ts).
// - The same isValid checks the trust anchor's own NotBefore/NotAfter (`now.Before(c.NotBefore) ||
//   now.After(c.NotAfter)` → Expired): an expired CA fails every handshake, whatever the leaves say.
// - `kubeadm join --discovery-token-ca-cert-hash sha256:…` pins the SHA-256 of the CA's
//   SubjectPublicKeyInfo (kubeadm pubkeypin.Hash: sha256 over cert.RawSubjectPublicKeyInfo): an
//   unchanged SPKI keeps every join command valid.
// - kubeadm's pkiutil.NewSelfSignedCACert signs with the CA key, CA:TRUE, keyUsage keyCertSign |
//   digitalSignature | keyEncipherment, a random serial, and now as NotBefore (its leaves are backdated
//   by kubeadmconstants.CertificateBackdate, 5 minutes).
import { createPublicKey, sign, X509Certificate, type KeyObject } from "node:crypto";
import type { Certificate } from "../pki/pem.js";
import { keySpecOf } from "../pki/keys.js";
import { parsedCertificate, randomSerial, x509 } from "../pki/sign.js";
import { RenewCertsError } from "../errors.js";
import { DAY_MS } from "../policy/age.js";
import { childrenOf, contentOf, encode, encodeOid, encodeTime, rawOf, readTlv, TAG } from "./der.js";
import { caPartsOf, type CaParts } from "./parts.js";

/**
 * How far NotBefore is set back from now: 24 hours. kubeadm backdates leaves by 5 minutes for the
 * clock skew between control-plane hosts; a CA is trusted by every node, and a node that sees it
 * "not yet valid" fails every handshake at once. A hardware clock kept in local time is wrong by
 * up to 14 hours (the widest UTC offset), which 5 minutes or 1 hour would not cover. Backdating
 * grants nothing: the same key signed the same subject all along.
 */
export const CA_BACKDATE_MS = 24 * 3600_000;

/**
 * Refuses a CA certificate that cannot be re-signed with its own key: an intermediate (issuer ≠
 * subject: its parent's key would be needed), one that is not a CA (no basicConstraints CA:TRUE),
 * one whose keyUsage lacks keyCertSign. The key itself is checked by the caller (material.ts).
 */
export function checkResignable(cert: Certificate, name: string): CaParts {
  const file = cert.source;
  const parts = caPartsOf(cert.der, file);
  if (!parts.issuer.equals(parts.subject)) {
    const issuer = cert.x509.issuer.replace(/\n/g, ", ");
    throw new RenewCertsError("CA_NOT_RENEWABLE", `CA ${file} (${name}) is an intermediate CA (issued by ${issuer}, not by itself): ` +
      "re-signing it needs its parent CA's key; renew it where that key is kept; nothing was changed", { file });
  }
  const p = parsedCertificate(cert);
  const bc = p.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) {
    throw new RenewCertsError("CA_NOT_RENEWABLE", `${file} (${name}) is not a CA certificate (no basicConstraints CA:TRUE): ` +
      "restore the CA certificate from a backup; nothing was changed", { file });
  }
  const ku = p.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new RenewCertsError("CA_NOT_RENEWABLE", `CA ${file} (${name}) has a keyUsage without keyCertSign: it cannot have signed its leaves; ` +
      "restore it from a backup; nothing was changed", { file });
  }
  return parts;
}

/**
 * The authority key identifier of a self-signed certificate, reduced to its key identifier: an
 * issuer-and-serial form would name the OLD serial, which OpenSSL checks (X509_check_issued). Without
 * a key identifier the extension is left out, as Go leaves it out of self-signed certificates.
 */
function akidKeyIdOnly(raw: Buffer, source: string): Buffer | undefined {
  const ext = readTlv(raw, 0, source);
  const [oid, ...rest] = childrenOf(raw, ext, source);
  const value = rest[rest.length - 1]!;
  const octets = contentOf(raw, value);
  const seq = readTlv(octets, 0, source);
  const keyId = childrenOf(octets, seq, source).find((t) => t.tag === 0x80);
  if (!keyId) return undefined;
  return encode(TAG.sequence, rawOf(raw, oid!), encode(TAG.octetString, encode(TAG.sequence, rawOf(octets, keyId))));
}

/** What re-signing made. */
export interface Resigned {
  der: Buffer;
  pem: string;
  x509: X509Certificate;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

const ALG = {
  rsa: encode(TAG.sequence, encodeOid("1.2.840.113549.1.1.11"), Buffer.from([0x05, 0x00])), // sha256WithRSAEncryption
  p256: encode(TAG.sequence, encodeOid("1.2.840.10045.4.3.2")), // ecdsa-with-SHA256
  p384: encode(TAG.sequence, encodeOid("1.2.840.10045.4.3.3")), // ecdsa-with-SHA384
};

/**
 * Re-signs the self-signed CA certificate `old` with its own `key`: the same subject, issuer, public
 * key and extensions, a new serial, valid from now − 24 h to now + validityDays. The result is
 * parsed back and checked field by field before it is returned. Pure but for the random serial.
 */
export function resignCa(o: { old: Certificate; key: KeyObject; name: string; now: Date; validityDays: number; serialHex?: string }): Resigned {
  const source = o.old.source;
  const parts = checkResignable(o.old, o.name);
  const spec = keySpecOf(o.key, source);
  const serialHex = o.serialHex ?? randomSerial();
  const notBefore = new Date(Math.floor((o.now.getTime() - CA_BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.floor((o.now.getTime() + o.validityDays * DAY_MS) / 1000) * 1000);
  const extensions = parts.extensions.flatMap((e) => {
    if (e.oid !== "2.5.29.35") return [e.raw];
    const kept = akidKeyIdOnly(e.raw, source);
    return kept ? [kept] : [];
  });
  const alg = spec.type === "rsa" ? ALG.rsa : spec.curve === "P-384" ? ALG.p384 : ALG.p256;
  const tbs = encode(TAG.sequence,
    encode(0xa0, encode(TAG.integer, Buffer.from([2]))), // v3
    encode(TAG.integer, Buffer.from(serialHex, "hex")),
    alg,
    parts.subject, // issuer: the subject's own bytes (self-signed)
    encode(TAG.sequence, encodeTime(notBefore), encodeTime(notAfter)),
    parts.subject,
    parts.spki,
    encode(0xa3, encode(TAG.sequence, ...extensions)));
  const hash = spec.type === "ec" && spec.curve === "P-384" ? "sha384" : "sha256";
  const signature = sign(hash, tbs, spec.type === "ec" ? { key: o.key, dsaEncoding: "der" } : o.key);
  const der = encode(TAG.sequence, tbs, alg, encode(TAG.bitString, Buffer.from([0]), signature));
  const checked = new X509Certificate(der);
  const again = caPartsOf(der, "re-signed CA");
  const ok = again.subject.equals(parts.subject) && again.issuer.equals(parts.subject) && again.spki.equals(parts.spki) &&
    again.serialHex === serialHex && checked.verify(createPublicKey(o.key)) && checked.checkIssued(checked) && checked.ca;
  if (!ok) {
    throw new RenewCertsError("INTERNAL", `the re-signed certificate for ${source} (${o.name}) does not read back as made: ` +
      "nothing was changed; report this CA's shape", { file: source });
  }
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
  return { der, pem, x509: checked, serialHex, notBefore, notAfter };
}
