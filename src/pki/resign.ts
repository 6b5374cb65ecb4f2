// Re-issuing a certificate as kubeadm's renewal does. The old certificate's subject and
// extensions must come out byte for byte (that is the invariant a renewal holds), so they are not
// decoded and re-encoded: they are copied from its DER, and what is new is written around them
// (version, serial, signature algorithm, validity, the new public key as node:crypto exports it,
// the new subject key identifier, the authority key identifier); node:crypto signs. Every
// certificate made this way is checked by OpenSSL before it is written (renewal/reissue.ts), and
// tests compare it field by field with what @peculiar/x509 reads. Certificates made from a
// profile (the sandbox, test doubles) are built by @peculiar/x509 (sign.ts).
import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from "node:crypto";
import { OID, childrenOf, oidDer, readTlv, timeDer, tlv, type RawExtension } from "./der.js";
import type { KeySpec } from "./keys.js";

/** Everything a re-issued certificate is made of. Time and randomness come in as values. */
export interface ResignParams {
  /** DER of the subject Name, copied from the old certificate. */
  subject: Uint8Array;
  /** The old certificate's extensions, in order: the subject key identifier is recomputed for
   * the new key, the authority key identifier is replaced by `issuer.keyId`'s, the rest copied. */
  extensions: readonly RawExtension[];
  /** The new key (private or public). */
  key: KeyObject;
  /** The CA: DER of its subject Name, its subject key identifier, its private key and key spec. */
  issuer: { subject: Uint8Array; keyId: Uint8Array | undefined; key: KeyObject; spec: KeySpec };
  notBefore: Date;
  notAfter: Date;
  /** Serial number bytes (positive, minimal); default: 16 random bytes. */
  serial?: Uint8Array;
}

const SEQUENCE = 0x30;
const SIGNATURE = {
  rsa: { oid: "1.2.840.113549.1.1.11", hash: "sha256", nullParams: true }, // sha256WithRSAEncryption
  "P-256": { oid: "1.2.840.10045.4.3.2", hash: "sha256", nullParams: false }, // ecdsa-with-SHA256
  "P-384": { oid: "1.2.840.10045.4.3.3", hash: "sha384", nullParams: false }, // ecdsa-with-SHA384
} as const;

function signatureOf(spec: KeySpec): (typeof SIGNATURE)[keyof typeof SIGNATURE] {
  return spec.type === "rsa" ? SIGNATURE.rsa : SIGNATURE[spec.curve];
}

function algorithmIdentifier(spec: KeySpec): Buffer {
  const s = signatureOf(spec);
  return tlv(SEQUENCE, oidDer(s.oid), ...(s.nullParams ? [Buffer.from([0x05, 0x00])] : []));
}

/** A fresh random positive serial number: 16 bytes, as kubeadm's are random 128-bit numbers. */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive, and never a leading zero byte
  return bytes;
}

/** The key identifier Go (and @peculiar/x509) give a key: SHA-1 of its subjectPublicKey bits. */
export function keyIdOf(spkiDer: Uint8Array): Buffer {
  const [, bits] = childrenOf(spkiDer, readTlv(spkiDer, 0));
  if (!bits || bits.tag !== 0x03) throw new Error("not a SubjectPublicKeyInfo");
  return createHash("sha1").update(spkiDer.subarray(bits.valueStart + 1, bits.end)).digest();
}

/** An Extension: extnID, then extnValue (criticality left at its default, false). */
function extension(oid: string, value: Buffer): Buffer {
  return tlv(SEQUENCE, oidDer(oid), tlv(0x04, value));
}

/** Issues the renewed certificate and returns it as PEM (with a final newline). */
export function resignCertificate(p: ResignParams): string {
  const spki = (p.key.type === "private" ? createPublicKey(p.key) : p.key).export({ type: "spki", format: "der" });
  const extensions: Uint8Array[] = [];
  for (const e of p.extensions) {
    if (e.oid === OID.authorityKeyIdentifier) continue;
    extensions.push(e.oid === OID.subjectKeyIdentifier ? extension(OID.subjectKeyIdentifier, tlv(0x04, keyIdOf(spki))) : e.der);
  }
  // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT KeyIdentifier }
  if (p.issuer.keyId) extensions.push(extension(OID.authorityKeyIdentifier, tlv(SEQUENCE, tlv(0x80, p.issuer.keyId))));
  const serial = p.serial ?? randomSerial();
  const tbs = tlv(
    SEQUENCE,
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, serial),
    algorithmIdentifier(p.issuer.spec),
    p.issuer.subject,
    tlv(SEQUENCE, timeDer(p.notBefore), timeDer(p.notAfter)),
    p.subject,
    spki,
    // Extensions ::= SEQUENCE SIZE (1..MAX): absent rather than empty.
    ...(extensions.length > 0 ? [tlv(0xa3, tlv(SEQUENCE, ...extensions))] : []),
  );
  const signature = sign(signatureOf(p.issuer.spec).hash, tbs, p.issuer.key);
  const der = tlv(SEQUENCE, tbs, algorithmIdentifier(p.issuer.spec), tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
