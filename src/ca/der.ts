// The few DER operations that re-signing a CA needs, done on raw bytes so that nothing of the old
// certificate is re-encoded on the way: its subject Name, its SubjectPublicKeyInfo and its
// extensions are copied as the byte strings they are. A library that parses a Name into strings
// and writes it back may turn kubeadm's PrintableString into a UTF8String, and Go matches a
// certificate's issuer to its CA's subject by raw bytes (crypto/x509 verify.go, isValid:
// `bytes.Equal(child.RawIssuer, c.RawSubject)`), so a re-encoded subject would orphan every leaf.
import { RenewCertsError } from "../errors.js";

/** One DER element: its tag, where it starts, where its contents start, and where it ends. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** Reads the element at `pos` of `buf` (single-byte tags, as every tag of an X.509 certificate is). */
export function readTlv(buf: Uint8Array, pos: number, source: string): Tlv {
  const bad = (): never => {
    throw new RenewCertsError("PEM", `${source} holds a certificate whose DER cannot be read: restore the file from a backup; nothing was changed`,
      { file: source });
  };
  if (pos + 2 > buf.length) bad();
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) bad();
  let len = buf[pos + 1]!;
  let contentStart = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || contentStart + n > buf.length) bad();
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[contentStart + i]!;
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > buf.length) bad();
  return { tag, start: pos, contentStart, end };
}

/** The elements inside a constructed element, in order. */
export function childrenOf(buf: Uint8Array, parent: Tlv, source: string): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.contentStart; pos < parent.end;) {
    const t = readTlv(buf, pos, source);
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** The whole encoding of an element (tag, length and contents). */
export function rawOf(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.subarray(t.start, t.end));
}

/** The contents of an element. */
export function contentOf(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.subarray(t.contentStart, t.end));
}

/** Encodes one element: tag, definite length, contents. */
export function encode(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

/** Tags used here. */
export const TAG = { integer: 0x02, bitString: 0x03, octetString: 0x04, oid: 0x06, utcTime: 0x17, generalizedTime: 0x18, sequence: 0x30 } as const;

/**
 * A time as RFC 5280 4.1.2.5 requires: UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050. Seconds only: fractions are not allowed.
 */
export function encodeTime(d: Date): Buffer {
  const iso = d.toISOString(); // 2026-12-07T17:44:37.123Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  const year = d.getUTCFullYear();
  if (year >= 1950 && year < 2050) return encode(TAG.utcTime, Buffer.from(`${digits.slice(2)}Z`, "ascii"));
  return encode(TAG.generalizedTime, Buffer.from(`${digits}Z`, "ascii"));
}

/** Encodes an object identifier given as dotted text. */
export function encodeOid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const bytes: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return encode(TAG.oid, Buffer.from(bytes));
}
