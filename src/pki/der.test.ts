import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { certificateFields, DerError, keyIdentifier } from "./der.js";
import { parseCertificatePem } from "./pem.js";
import { generateKey } from "./keys.js";
import { issueCertificate, OID, x509 } from "./sign.js";
import { leafExtensions } from "./profile.js";
import { sharedSandbox } from "../../test/support/sandbox.js";

const CERTS = ["ca.crt", "apiserver.crt", "apiserver-kubelet-client.crt", "front-proxy-ca.crt", "etcd/server.crt", "etcd/peer.crt"];

test("certificate fields read from the DER equal what OpenSSL and @peculiar/x509 read", async () => {
  for (const keySpec of [{ type: "rsa", bits: 2048 }, { type: "ec", curve: "P-256" }] as const) {
    const pki = join(await sharedSandbox({ keySpec, ageDays: 300 }), "etc/kubernetes/pki");
    for (const name of CERTS) {
      const pem = await readFile(join(pki, name), "utf8");
      const node = new X509Certificate(pem);
      const lib = new x509.X509Certificate(pem);
      const f = certificateFields(node.raw);
      assert.equal(f.notBefore.getTime(), new Date(node.validFrom).getTime(), name);
      assert.equal(f.notAfter.getTime(), new Date(node.validTo).getTime(), name);
      assert.deepEqual(f.subject, Buffer.from(lib.subjectName.toArrayBuffer()), name);
      assert.deepEqual(f.issuer, Buffer.from(lib.issuerName.toArrayBuffer()), name);
      assert.deepEqual(f.extensions.map((e) => [e.oid, e.critical, e.der.toString("hex")]), [...lib.extensions].map((e) => [e.type, e.critical, Buffer.from(e.rawData).toString("hex")]), name);
      const ski = f.extensions.find((e) => e.oid === OID.subjectKeyIdentifier);
      if (ski) assert.equal(keyIdentifier(ski.value).toString("hex"), lib.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId, name);
    }
  }
});

test("dates from 2050 on (GeneralizedTime) and before (UTCTime) are both read", async () => {
  const key = await generateKey({ type: "ec", curve: "P-256" });
  const notBefore = new Date("2049-12-31T23:59:58Z");
  const notAfter = new Date("2051-06-01T12:00:00Z");
  const pem = await issueCertificate({ subject: "CN=t", key, notBefore, notAfter, extensions: leafExtensions({ subject: "", usages: ["serverAuth"], dnsNames: ["t"], ipAddresses: [] }, "ec") });
  const c = parseCertificatePem(pem, "t.crt");
  assert.equal(c.notBefore.toISOString(), notBefore.toISOString());
  assert.equal(c.notAfter.toISOString(), notAfter.toISOString());
  assert.equal(new Date(c.x509.validTo).getTime(), notAfter.getTime());
});

test("truncated, padded or mangled DER is refused, and the PEM reader says the file cannot be parsed", async () => {
  const pem = await readFile(join(await sharedSandbox({ keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 }), "etc/kubernetes/pki/apiserver.crt"), "utf8");
  const der = new X509Certificate(pem).raw;
  assert.throws(() => certificateFields(der.subarray(0, der.length - 1)), DerError);
  assert.throws(() => certificateFields(Buffer.concat([der, Buffer.from([0])])), DerError);
  assert.throws(() => certificateFields(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])), DerError);
  assert.throws(() => certificateFields(Buffer.from([0x31, 0x00])), DerError);
  const flipped = Buffer.from(der);
  flipped[4] = 0x31; // the TBSCertificate is no longer a SEQUENCE
  assert.throws(() => certificateFields(flipped), DerError);
  const body = pem.split("\n").slice(1, -2);
  const cut = `-----BEGIN CERTIFICATE-----\n${body.slice(0, body.length - 3).join("\n")}\n-----END CERTIFICATE-----\n`;
  assert.throws(() => parseCertificatePem(cut, "/x/apiserver.crt"), /\/x\/apiserver\.crt holds a certificate that cannot be parsed \(truncated or corrupt\)/);
  assert.throws(() => parseCertificatePem(pem.replace(/^(-----BEGIN CERTIFICATE-----\n.{10})./, "$1%"), "/x/apiserver.crt"), /cannot be parsed/);
});
