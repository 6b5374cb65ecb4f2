// Reading, not building: the few fields of a DER certificate that `status` and a renewal need as
// bytes (validity, subject, issuer, extensions), found by walking its tag-length-value structure.
// Every certificate this yields is still checked by OpenSSL (node:crypto) before it is trusted
// for anything but its dates, and every certificate renew-certs issues is built by @peculiar/x509.

/** OIDs of the extensions renew-certs reads, recomputes or compares. */
export const OID = {
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  subjectAltName: "2.5.29.17",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  basicConstraints: "2.5.29.19",
} as const;

/** One DER element: its tag, where it starts, where its value starts, and where it ends. */
export interface Tlv {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

/** Thrown for bytes that are not the DER the caller expects. */
export class DerError extends Error {}

/** The element at `offset`, which must end within `limit`. Only DER: definite, minimal lengths. */
export function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new DerError("truncated element");
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("unsupported multi-byte tag");
  let length = der[offset + 1]!;
  let valueStart = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4) throw new DerError("unsupported length");
    if (valueStart + n > limit) throw new DerError("truncated length");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[valueStart + i]!;
    valueStart += n;
  }
  const end = valueStart + length;
  if (end > limit) throw new DerError("truncated element");
  return { tag, start: offset, valueStart, end };
}

/** The elements inside a constructed element, in order; they must fill it exactly. */
export function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.valueStart; at < parent.end; ) {
    const t = readTlv(der, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** The dotted form of an OBJECT IDENTIFIER's value bytes. */
export function oidString(der: Uint8Array, t: Tlv): string {
  const arcs: number[] = [];
  let v = 0;
  for (let i = t.valueStart; i < t.end; i++) {
    const b = der[i]!;
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

const SEQUENCE = 0x30;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const OID_TAG = 0x06;
const BOOLEAN = 0x01;
const OCTET_STRING = 0x04;

function time(der: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(der.subarray(t.valueStart, t.end)).toString("latin1");
  const m = t.tag === UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
    : t.tag === GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw new DerError("invalid time");
  let year = Number(m[1]);
  if (t.tag === UTC_TIME) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** An extension of a certificate: its OID, criticality, and its whole DER (OID, flag, value). */
export interface RawExtension {
  oid: string;
  critical: boolean;
  der: Buffer;
  /** The extnValue OCTET STRING's contents. */
  value: Buffer;
}

/** The fields of a certificate renew-certs reads as bytes. */
export interface CertificateFields {
  notBefore: Date;
  notAfter: Date;
  /** The whole DER of the issuer and subject Names (every attribute, in order). */
  issuer: Buffer;
  subject: Buffer;
  extensions: RawExtension[];
}

/**
 * Walks a DER X.509 certificate (RFC 5280 4.1) and returns its dates, names and extensions as
 * bytes. Throws DerError when the bytes are not one whole certificate (truncated, trailing bytes,
 * wrong structure).
 */
export function certificateFields(der: Uint8Array): CertificateFields {
  const cert = readTlv(der, 0);
  if (cert.tag !== SEQUENCE || cert.end !== der.length) throw new DerError("not a certificate");
  const [tbs, alg, sig] = childrenOf(der, cert);
  if (tbs?.tag !== SEQUENCE || alg?.tag !== SEQUENCE || sig?.tag !== 0x03) throw new DerError("not a certificate");
  const parts = childrenOf(der, tbs);
  const first = parts[0]?.tag === 0xa0 ? 1 : 0; // version [0] EXPLICIT, absent for v1
  const [serial, , issuer, validity, subject, spki] = parts.slice(first, first + 6);
  if (serial?.tag !== 0x02 || issuer?.tag !== SEQUENCE || validity?.tag !== SEQUENCE || subject?.tag !== SEQUENCE || spki?.tag !== SEQUENCE) {
    throw new DerError("not a certificate");
  }
  const [nb, na, extra] = childrenOf(der, validity);
  if (!nb || !na || extra) throw new DerError("invalid validity");
  const extensions: RawExtension[] = [];
  const ext = parts.slice(first + 6).find((p) => p.tag === 0xa3);
  if (ext) {
    const [list] = childrenOf(der, ext);
    if (list?.tag !== SEQUENCE) throw new DerError("invalid extensions");
    for (const e of childrenOf(der, list)) {
      const f = childrenOf(der, e);
      const critical = f[1]?.tag === BOOLEAN ? der[f[1].valueStart] !== 0 : false;
      const value = f[f.length - 1];
      if (e.tag !== SEQUENCE || f[0]?.tag !== OID_TAG || value?.tag !== OCTET_STRING || f.length > 3) throw new DerError("invalid extension");
      extensions.push({ oid: oidString(der, f[0]), critical, der: Buffer.from(der.subarray(e.start, e.end)), value: Buffer.from(der.subarray(value.valueStart, value.end)) });
    }
  }
  return {
    notBefore: time(der, nb),
    notAfter: time(der, na),
    issuer: Buffer.from(der.subarray(issuer.start, issuer.end)),
    subject: Buffer.from(der.subarray(subject.start, subject.end)),
    extensions,
  };
}

/** The key identifier inside a subject key identifier extension's value (an OCTET STRING). */
export function keyIdentifier(value: Uint8Array): Buffer {
  const t = readTlv(value, 0);
  if (t.tag !== OCTET_STRING || t.end !== value.length) throw new DerError("invalid subject key identifier");
  return Buffer.from(value.subarray(t.valueStart, t.end));
}

/** The subject key identifier of a certificate, when it has one. */
export function subjectKeyIdOf(fields: CertificateFields): Buffer | undefined {
  const ext = fields.extensions.find((e) => e.oid === OID.subjectKeyIdentifier);
  return ext ? keyIdentifier(ext.value) : undefined;
}

// Writing: just enough DER to wrap new values around copied ones (see resign.ts).

/** One DER element: `tag`, then the definite length, then the concatenated `content`. */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const head = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : n < 0x10000 ? [tag, 0x82, n >> 8, n & 0xff] : [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(head), body]);
}

/** An OBJECT IDENTIFIER element from its dotted form. */
export function oidDer(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes: number[] = [];
  for (const arc of [a! * 40 + b!, ...rest]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(OID_TAG, Buffer.from(bytes));
}

/** A Time element (RFC 5280 4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050; whole seconds. */
export function timeDer(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  return d.getUTCFullYear() < 2050 ? tlv(UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, "latin1")) : tlv(GENERALIZED_TIME, Buffer.from(`${digits}Z`, "latin1"));
}
