import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cli } from "../../test/support/cli.js";
import { copySandbox } from "../../test/support/sandbox.js";
import { needTools, run } from "../../test/support/tools.js";
import { plantLeaf } from "../../test/support/pki.js";
import { issueCertificate, subjectKeyIdExtension, x509 } from "./sign.js";
import { parseCertificatePem } from "./pem.js";
import { leafIdentity } from "./allow-list.js";
import { generateKey } from "./keys.js";

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;
const PKI = "etc/kubernetes/pki";

/** The extensions `openssl x509 -text` shows, in order: "Name[: critical] = first value line". */
function opensslExtensions(file: string): string[] {
  const text = run("openssl", ["x509", "-in", file, "-noout", "-text"]).stdout;
  const block = text.slice(text.indexOf("X509v3 extensions:"), text.indexOf("Signature Algorithm:", text.indexOf("X509v3 extensions:")));
  const lines = block.split("\n").slice(1);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^ {12}(\S.*?):( critical)?\s*$/.exec(lines[i]!);
    if (head) out.push(`${head[1]}${head[2] ? ": critical" : ""} = ${lines[i + 1]!.trim()}`);
  }
  return out;
}

/** Extensions nobody should copy into a renewed leaf: policies, constraints, pointers, unknown ones. */
async function extras(): Promise<x509.Extension[]> {
  return [
    new x509.CertificatePolicyExtension(["2.5.29.32.0"], false),
    new x509.CRLDistributionPointsExtension(["http://crl.example/ca.crl"], false),
    new x509.AuthorityInfoAccessExtension({ ocsp: ["http://ocsp.example"] }, false),
    new x509.Extension("2.5.29.30", false, new Uint8Array([0x30, 0x11, 0xa0, 0x0f, 0x30, 0x0d, 0x82, 0x0b, ...Buffer.from("example.com")])),
    new x509.Extension("1.3.6.1.4.1.55555.2", false, new Uint8Array([0x05, 0x00])),
  ];
}

test("a leaf with extra extensions comes out of a renewal with exactly kubeadm's, as openssl reads them", async (t) => {
  if (!needTools(t, "openssl")) return;
  const root = await copySandbox(t, ec);
  const file = await plantLeaf(root, {
    name: "apiserver",
    subject: "CN=kube-apiserver",
    extensions: async (key) => [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, false),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], true),
      await subjectKeyIdExtension(key),
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "kubernetes" }, { type: "ip", value: "10.96.0.1" }, { type: "ip", value: "::1" },
        { type: "url", value: "spiffe://cluster.local/ns/kube-system/sa/apiserver" }, { type: "email", value: "admin@example.com" },
        { type: "upn", value: "someone@example" }, { type: "dn", value: "CN=dirname" },
      ], false),
      ...(await extras()),
    ],
  });
  const r = cli(["renew", "apiserver", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  const got = opensslExtensions(file);
  const caSki = run("openssl", ["x509", "-in", join(root, PKI, "ca.crt"), "-noout", "-ext", "subjectKeyIdentifier"]).stdout.trim().split("\n")[1]!.trim();
  assert.deepEqual(got.map((l) => l.replace(/ = [0-9A-F:]{59}$/, " = <key id>")), [
    "X509v3 Key Usage: critical = Digital Signature, Key Encipherment",
    "X509v3 Extended Key Usage = TLS Web Server Authentication",
    "X509v3 Basic Constraints: critical = CA:FALSE",
    "X509v3 Subject Key Identifier = <key id>",
    "X509v3 Subject Alternative Name = DNS:kubernetes, IP Address:10.96.0.1, IP Address:0:0:0:0:0:0:0:1, URI:spiffe://cluster.local/ns/kube-system/sa/apiserver, email:admin@example.com",
    "X509v3 Authority Key Identifier = <key id>",
  ]);
  assert.equal(got[5], `X509v3 Authority Key Identifier = ${caSki}`, "the CA's key id");
  assert.notEqual(got[3]!.split(" = ")[1], caSki, "the new key's own id");
  assert.equal(run("openssl", ["verify", "-CAfile", join(root, PKI, "ca.crt"), file]).status, 0);
});

test("the subject is kept byte for byte: attribute order, string types and a multi-valued RDN, as openssl dumps the DER", async (t) => {
  if (!needTools(t, "openssl")) return;
  const root = await copySandbox(t, ec);
  const pki = join(root, PKI);
  const leaf = join(pki, "front-proxy-client");
  const ext = join(root, "ext.cnf");
  await writeFile(ext, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
  const made = [
    run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${leaf}.key`, "-out", `${leaf}.csr`, "-utf8", "-multivalue-rdn", "-subj", "/C=DE/O=Bäckerei Müller/OU=a+OU=b/CN=front-proxy-client/emailAddress=ops@example.com"]),
    run("openssl", ["x509", "-req", "-in", `${leaf}.csr`, "-CA", join(pki, "front-proxy-ca.crt"), "-CAkey", join(pki, "front-proxy-ca.key"), "-days", "30", "-extfile", ext, "-out", `${leaf}.crt`]),
  ];
  for (const m of made) assert.equal(m.status, 0, m.stderr);
  const subject = (): string => run("openssl", ["x509", "-in", `${leaf}.crt`, "-noout", "-subject", "-nameopt", "oneline,show_type,dump_all,dump_der"]).stdout;
  const before = subject();
  assert.match(before, /UTF8STRING/);
  const r = cli(["renew", "front-proxy-client", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(subject(), before);
});

test("names of other kinds are left out, the extended key usages kept in order, and the subject's DER is the certificate's own", async () => {
  const key = await generateKey({ type: "ec", curve: "P-256" });
  const pem = await issueCertificate({
    subject: "CN=x, O=y", key, notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: new Date(Date.UTC(2027, 0, 1)),
    extensions: [new x509.ExtendedKeyUsageExtension(["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"]), new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "b" }, { type: "id", value: "1.2.3.4" }, { type: "dns", value: "a" }])],
  });
  const id = leafIdentity(new x509.X509Certificate(pem), { where: "x.crt", name: "x", ca: "ca" });
  assert.deepEqual(id.altNames, [{ type: "dns", value: "b" }, { type: "dns", value: "a" }]);
  assert.deepEqual(id.extendedKeyUsages, ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"]);
  assert.ok(parseCertificatePem(pem, "x.crt").der.includes(id.subjectDer));
});
