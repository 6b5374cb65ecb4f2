import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, sign, X509Certificate, type KeyObject } from "node:crypto";
import { sharedSandbox } from "../../test/support/sandbox.js";
import { caMaterial, resignedCa } from "../../test/support/resigned-ca.js";
import { checkAdoptable, keyPin } from "./publication.js";
import { caPartsOf } from "./parts.js";
import { encode, encodeOid, encodeTime, TAG } from "./der.js";
import { resignCa } from "./resign.js";

const NOW = new Date();
const DAY = 86_400_000;
const CA_EXT = encode(TAG.sequence, encodeOid("2.5.29.19"), Buffer.from([0x01, 0x01, 0xff]), encode(TAG.octetString, encode(TAG.sequence, Buffer.from([0x01, 0x01, 0xff]))));

/** A certificate made by hand from raw parts, signed by `signer` (ECDSA P-256): shapes no builder would make on purpose. */
function made(o: { subject: Buffer; issuer?: Buffer; spki: Buffer; signer: KeyObject; extensions?: Buffer[]; from?: number; to?: number }): string {
  const alg = encode(TAG.sequence, encodeOid("1.2.840.10045.4.3.2"));
  const exts = o.extensions ?? [CA_EXT];
  const tbs = encode(TAG.sequence, encode(0xa0, encode(TAG.integer, Buffer.from([2]))), encode(TAG.integer, Buffer.from([0x11, 0x22])), alg,
    o.issuer ?? o.subject, encode(TAG.sequence, encodeTime(new Date(o.from ?? NOW.getTime() - DAY)), encodeTime(new Date(o.to ?? NOW.getTime() + 365 * DAY))),
    o.subject, o.spki, ...(exts.length ? [encode(0xa3, encode(TAG.sequence, ...exts))] : []));
  const der = encode(TAG.sequence, tbs, alg, encode(TAG.bitString, Buffer.from([0]), sign("sha256", tbs, { key: o.signer, dsaEncoding: "der" })));
  return new X509Certificate(der).toString();
}

async function local(): Promise<{ cert: X509Certificate; key: KeyObject; subject: Buffer; spki: Buffer; root: string }> {
  const root = await sharedSandbox({ keySpec: { type: "ec", curve: "P-256" } });
  const m = await caMaterial(root);
  const parts = caPartsOf(m.cert.der, "ca.crt");
  return { cert: m.cert.x509, key: m.key, subject: parts.subject, spki: parts.spki, root };
}

test("a certificate re-signed with this host's CA key and subject is adopted", async () => {
  const l = await local();
  assert.deepEqual(checkAdoptable((await resignedCa(l.root)).pem, l, NOW), { ok: true });
  assert.deepEqual(checkAdoptable(l.cert.toString(), l, NOW), { ok: true }, "the host's own certificate too");
});

test("a published certificate of another key is refused, naming both key pins", async () => {
  const l = await local();
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = made({ subject: l.subject, spki: other.publicKey.export({ type: "spki", format: "der" }), signer: other.privateKey });
  const r = checkAdoptable(pem, l, NOW);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.why.includes(keyPin(other.publicKey.export({ type: "spki", format: "der" }))) && r.why.includes(keyPin(l.spki)), !r.ok ? r.why : "");
  assert.match(!r.ok ? r.why : "", /another key.*never adopted/);
});

test("a published certificate whose subject is the same text in another string type is refused: Go matches raw bytes", async () => {
  const l = await local();
  // kubeadm's PrintableString (0x13) re-encoded as UTF8String (0x0c), as a library that parses names may write it.
  const utf8 = Buffer.from(l.subject.toString("hex").replace(/0603550403130a/g, "0603550403" + "0c0a"), "hex");
  assert.notDeepEqual(utf8, l.subject, "the sandbox CA's CN is a PrintableString");
  const r = checkAdoptable(made({ subject: utf8, spki: l.spki, signer: l.key }), l, NOW);
  assert.match(r.ok ? "" : r.why, /subject is not byte for byte/);
});

test("a published certificate with this host's key and subject but signed by another key is refused", async () => {
  const l = await local();
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { cert } = await caMaterial(l.root);
  const forged = resignCa({ old: cert, key: other.privateKey, name: "ca", now: NOW, validityDays: 30 });
  assert.match((r => (r.ok ? "" : r.why))(checkAdoptable(forged.pem, l, NOW)), /not self-signed by this host's CA key/);
  const issuedByOther = made({ subject: l.subject, issuer: Buffer.from(l.subject.toString("hex").replace("6b756265726e65746573", "6b756265726e65746578"), "hex"), spki: l.spki, signer: l.key });
  assert.match((r => (r.ok ? "" : r.why))(checkAdoptable(issuedByOther, l, NOW)), /not self-signed/, "an issuer other than its subject");
});

test("a published certificate that is not a CA, has expired, is not yet valid, or is a bundle is refused", async () => {
  const l = await local();
  const why = (pem: string): string => { const r = checkAdoptable(pem, l, NOW); return r.ok ? "" : r.why; };
  assert.match(why(made({ subject: l.subject, spki: l.spki, signer: l.key, extensions: [] })), /not a CA certificate/);
  assert.match(why((await resignedCa(l.root, { expiredDaysAgo: 3 })).pem), /expired on/);
  assert.match(why(made({ subject: l.subject, spki: l.spki, signer: l.key, from: NOW.getTime() + DAY })), /not valid before/);
  assert.match(why(l.cert.toString() + (await resignedCa(l.root)).pem), /holds 2 certificates/);
  assert.match(why("not a certificate"), /not a PEM certificate/);
});

test("a host whose CA key does not match its own certificate adopts nothing", async () => {
  const l = await local();
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  assert.match((r => (r.ok ? "" : r.why))(checkAdoptable(l.cert.toString(), { cert: l.cert, key: other.privateKey }, NOW)), /this host's CA key .* does not match its own certificate/);
});
