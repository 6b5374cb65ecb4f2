import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { resignCertificate, keyIdOf } from "./resign.js";
import { parseCertificatePem } from "./pem.js";
import { generateKey, keySpecOf } from "./keys.js";
import { issueCertificate, subjectKeyIdExtension, x509, OID } from "./sign.js";
import { caExtensions, leafExtensions } from "./profile.js";
import { subjectKeyIdOf } from "./der.js";
import { sharedSandbox } from "../../test/support/sandbox.js";

const LEAVES = [["ca", "apiserver.crt"], ["ca", "apiserver-kubelet-client.crt"], ["front-proxy-ca", "front-proxy-client.crt"], ["etcd/ca", "etcd/peer.crt"], ["etcd/ca", "etcd/healthcheck-client.crt"]] as const;

test("a re-signed certificate keeps subject and extensions byte for byte and reads, for @peculiar/x509 and OpenSSL, as a well-formed v3 certificate", async () => {
  for (const keySpec of [{ type: "rsa", bits: 2048 }, { type: "ec", curve: "P-256" }] as const) {
    const pki = join(await sharedSandbox({ keySpec, ageDays: 300 }), "etc/kubernetes/pki");
    for (const [caName, leafName] of LEAVES) {
      const ca = parseCertificatePem(await readFile(join(pki, `${caName}.crt`), "utf8"), caName);
      const caKey = createPrivateKey(await readFile(join(pki, `${caName}.key`)));
      const old = parseCertificatePem(await readFile(join(pki, leafName), "utf8"), leafName);
      const key = await generateKey(keySpec);
      const notBefore = new Date("2026-11-28T10:00:00.789Z");
      const notAfter = new Date("2027-11-28T10:05:00.123Z");
      const pem = resignCertificate({ subject: old.fields.subject, extensions: old.fields.extensions, key, issuer: { subject: ca.fields.subject, keyId: subjectKeyIdOf(ca.fields), key: caKey, spec: keySpecOf(caKey, caName) }, notBefore, notAfter });
      const node = new X509Certificate(pem);
      assert.ok(node.verify(ca.x509.publicKey), `${leafName} verifies against ${caName}`);
      assert.ok(node.checkPrivateKey(key), leafName);
      assert.ok(node.checkIssued(ca.x509), leafName);
      const lib = new x509.X509Certificate(pem);
      const libOld = new x509.X509Certificate(new Uint8Array(old.der));
      assert.equal(lib.subject, libOld.subject, leafName);
      assert.deepEqual(Buffer.from(lib.subjectName.toArrayBuffer()), old.fields.subject);
      assert.deepEqual(Buffer.from(lib.issuerName.toArrayBuffer()), ca.fields.subject);
      assert.equal(lib.notBefore.toISOString(), "2026-11-28T10:00:00.000Z");
      assert.equal(lib.notAfter.toISOString(), "2027-11-28T10:05:00.000Z");
      assert.equal(lib.signatureAlgorithm.hash.name, "SHA-256");
      assert.match(lib.serialNumber, /^[0-7][0-9a-f]{31}$/, "16 bytes, positive");
      for (const e of libOld.extensions) {
        if (e.type === OID.authorityKeyIdentifier || e.type === OID.subjectKeyIdentifier) continue;
        const now = lib.extensions.find((n) => n.type === e.type);
        assert.ok(now, `${leafName} keeps extension ${e.type}`);
        assert.deepEqual(Buffer.from(now.rawData), Buffer.from(e.rawData), `${leafName} extension ${e.type} byte for byte`);
      }
      assert.equal(lib.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, subjectKeyIdOf(ca.fields)?.toString("hex"), `${leafName}: authority key id is the CA's subject key id`);
      const ski = lib.getExtension(x509.SubjectKeyIdentifierExtension);
      if (libOld.getExtension(x509.SubjectKeyIdentifierExtension)) {
        assert.equal(ski?.keyId, (await subjectKeyIdExtension(key) as x509.SubjectKeyIdentifierExtension).keyId, `${leafName}: subject key id of the new key, as @peculiar/x509 computes it`);
      } else {
        assert.equal(ski ?? undefined, undefined);
      }
    }
  }
});

test("a P-384 CA signs with ECDSA-SHA384; dates from 2050 are GeneralizedTime; a subject key id is recomputed", async () => {
  const caKey = await generateKey({ type: "ec", curve: "P-384" });
  const caPem = await issueCertificate({ subject: "CN=ca384", key: caKey, notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2060-01-01T00:00:00Z"), extensions: await caExtensions(caKey, "ca384") });
  const ca = parseCertificatePem(caPem, "ca384.crt");
  const leafKey = await generateKey({ type: "ec", curve: "P-256" });
  const extensions = [...leafExtensions({ subject: "", usages: ["clientAuth"], dnsNames: [], ipAddresses: [] }, "ec"), await subjectKeyIdExtension(leafKey)];
  const oldPem = await issueCertificate({ subject: "CN=leaf,O=system:masters", key: leafKey, issuer: { cert: ca, key: caKey }, notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2027-01-01T00:00:00Z"), extensions });
  const old = parseCertificatePem(oldPem, "leaf.crt");
  const key = await generateKey({ type: "ec", curve: "P-256" });
  const pem = resignCertificate({ subject: old.fields.subject, extensions: old.fields.extensions, key, issuer: { subject: ca.fields.subject, keyId: subjectKeyIdOf(ca.fields), key: caKey, spec: { type: "ec", curve: "P-384" } }, notBefore: new Date("2049-12-31T23:55:00Z"), notAfter: new Date("2051-01-01T00:00:00Z") });
  const lib = new x509.X509Certificate(pem);
  assert.equal(lib.signatureAlgorithm.hash.name, "SHA-384");
  assert.ok(new X509Certificate(pem).verify(ca.x509.publicKey));
  assert.equal(lib.notAfter.toISOString(), "2051-01-01T00:00:00.000Z");
  assert.equal(lib.notBefore.toISOString(), "2049-12-31T23:55:00.000Z");
  assert.equal(lib.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, keyIdOf(new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" })).toString("hex"));
  assert.notEqual(lib.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, new x509.X509Certificate(oldPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
  assert.equal(lib.subject, "CN=leaf, O=system:masters");
});

test("a certificate without extensions is re-signed without an empty extensions field", async () => {
  const caKey = await generateKey({ type: "ec", curve: "P-256" });
  const key = await generateKey({ type: "ec", curve: "P-256" });
  const subject = parseCertificatePem(await issueCertificate({ subject: "CN=s", key, notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2027-01-01T00:00:00Z"), extensions: [] }), "s.crt").fields.subject;
  const pem = resignCertificate({ subject, extensions: [], key, issuer: { subject, keyId: undefined, key: caKey, spec: { type: "ec", curve: "P-256" } }, notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2027-01-01T00:00:00Z") });
  const c = parseCertificatePem(pem, "s.crt");
  assert.deepEqual(c.fields.extensions, []);
  assert.ok(c.x509.verify(createPublicKey(caKey)));
});
