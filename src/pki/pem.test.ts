import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseCertificatePem, parsePrivateKeyPem } from "./pem.js";
import { generateKey, privateKeyPem } from "./keys.js";
import { issueCertificate, x509 } from "./sign.js";
import { leafExtensions } from "./profile.js";
import { sharedSandbox } from "../../test/support/sandbox.js";

const CERTS = ["ca.crt", "apiserver.crt", "front-proxy-ca.crt", "etcd/server.crt"];

test("a certificate's dates are the ones OpenSSL and @peculiar/x509 read, to the second", async () => {
  for (const keySpec of [{ type: "rsa", bits: 2048 }, { type: "ec", curve: "P-256" }] as const) {
    const pki = join(await sharedSandbox({ keySpec, ageDays: 300 }), "etc/kubernetes/pki");
    for (const name of CERTS) {
      const pem = await readFile(join(pki, name), "utf8");
      const c = parseCertificatePem(pem, name);
      const lib = new x509.X509Certificate(pem);
      assert.equal(c.notBefore.getTime(), lib.notBefore.getTime(), name);
      assert.equal(c.notAfter.getTime(), lib.notAfter.getTime(), name);
      assert.deepEqual(c.der, new X509Certificate(pem).raw, name);
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
});

test("truncated, padded or mangled certificates are refused as \"cannot be parsed\", naming the file", async () => {
  const pem = await readFile(join(await sharedSandbox({ keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 }), "etc/kubernetes/pki/apiserver.crt"), "utf8");
  const der = new X509Certificate(pem).raw;
  const wrap = (b: Buffer): string => `-----BEGIN CERTIFICATE-----\n${b.toString("base64")}\n-----END CERTIFICATE-----\n`;
  const flipped = Buffer.from(der);
  flipped[4] = 0x31; // the TBSCertificate is no longer a SEQUENCE
  for (const [what, text] of [
    ["cut", wrap(der.subarray(0, der.length - 1))],
    ["padded", wrap(Buffer.concat([der, Buffer.from([0])]))],
    ["flipped", wrap(flipped)],
    ["not base64", pem.replace(/^(-----BEGIN CERTIFICATE-----\n.{10})./, "$1%")],
  ] as const) {
    assert.throws(() => parseCertificatePem(text, "/x/apiserver.crt"), /^RenewCertsError: \/x\/apiserver\.crt holds a certificate that cannot be parsed \(truncated or corrupt\): restore the file from a backup$/, what);
  }
});

test("a key where a certificate belongs, and a certificate where a key belongs, are named for what they are", async () => {
  const key = privateKeyPem(await generateKey({ type: "ec", curve: "P-256" }));
  assert.throws(() => parseCertificatePem(key, "/x/a.crt"), /\/x\/a\.crt holds a private key where a certificate belongs/);
  assert.throws(() => parsePrivateKeyPem("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n", "/x/a.key"), /\/x\/a\.key is not a PEM private key/);
});
