import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { TestContext } from "node:test";
import { needTools, run } from "../../test/support/tools.js";
import { parseCertificatePem, parsePrivateKeyPem, type Certificate } from "../pki/pem.js";
import { parsedCertificate, x509 } from "../pki/sign.js";
import { RenewCertsError } from "../errors.js";
import { CA_BACKDATE_MS, checkResignable, resignCa } from "./resign.js";
import { caPartsOf } from "./parts.js";
import { checkLeaves } from "./leaves.js";

const NOW = new Date(Date.UTC(2026, 11, 7, 12, 0, 0));
const DAY = 86_400_000;

/** An OpenSSL configuration for `req -x509`: a PrintableString subject (string_mask = default) and the given extensions. */
function caConfig(subject: string[], ext: string[]): string {
  return ["[req]", "distinguished_name = dn", "string_mask = default", "prompt = no", "x509_extensions = v3", "[dn]", ...subject, "[v3]", ...ext].join("\n") + "\n";
}

/** Makes a self-signed CA with openssl in `dir`; returns its files. */
async function opensslCa(dir: string, name: string, key: string[], subject: string[], ext: string[]): Promise<{ crt: string; key: string }> {
  const cnf = join(dir, `${name}.cnf`);
  await writeFile(cnf, caConfig(subject, ext));
  const crt = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const r = run("openssl", ["req", "-x509", ...key, "-nodes", "-keyout", keyFile, "-out", crt, "-config", cnf, "-days", "3650"]);
  assert.equal(r.status, 0, r.stderr);
  return { crt, key: keyFile };
}

/** Signs a P-256 leaf with openssl, with the given extension lines. */
async function opensslLeaf(dir: string, name: string, ca: { crt: string; key: string }, ext: string[]): Promise<string> {
  const csr = join(dir, `${name}.csr`);
  const made = run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, `${name}.key`), "-subj", `/CN=${name}`, "-out", csr]);
  assert.equal(made.status, 0, made.stderr);
  await writeFile(join(dir, `${name}.ext`), ["[e]", ...ext].join("\n") + "\n");
  const crt = join(dir, `${name}.crt`);
  const signed = run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.crt, "-CAkey", ca.key, "-days", "365", "-extfile", join(dir, `${name}.ext`), "-extensions", "e", "-out", crt]);
  assert.equal(signed.status, 0, signed.stderr);
  return crt;
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-ca-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function load(file: string): Promise<Certificate> {
  return parseCertificatePem(await readFile(file, "utf8"), file);
}

/** The join hash: `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum`. */
function joinHash(crt: string): string {
  const r = run("sh", ["-c", `openssl x509 -in '${crt}' -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split(" ")[0]!;
}

test("a re-signed CA keeps its PrintableString subject bytes, public key, path length and key usage, with a new serial and validity", async (t) => {
  if (!needTools(t, "openssl")) return;
  const dir = await tempDir(t);
  const ca = await opensslCa(dir, "ca", ["-newkey", "rsa:2048"], ["C = US", "O = Acme", "CN = kubernetes"],
    ["basicConstraints = critical,CA:TRUE,pathlen:1", "keyUsage = critical,keyCertSign,digitalSignature,keyEncipherment", "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid:always"]);
  const leaf = await opensslLeaf(dir, "leaf", ca, ["basicConstraints = CA:FALSE", "keyUsage = critical,digitalSignature", "extendedKeyUsage = clientAuth", "authorityKeyIdentifier = keyid"]);
  const old = await load(ca.crt);
  const oldParts = caPartsOf(old.der, ca.crt);
  assert.equal(oldParts.subject[oldParts.subject.length - 12], 0x13, "the fixture's CN is a PrintableString (tag 0x13)");
  const made = resignCa({ old, key: parsePrivateKeyPem(await readFile(ca.key, "utf8"), ca.key), name: "ca", now: NOW, validityDays: 3650 });
  const parts = caPartsOf(made.der, "new");
  assert.ok(parts.subject.equals(oldParts.subject), "subject DER verbatim");
  assert.ok(parts.issuer.equals(oldParts.subject), "issuer = subject DER verbatim");
  assert.ok(parts.spki.equals(oldParts.spki), "SubjectPublicKeyInfo copied");
  assert.notEqual(parts.serialHex, oldParts.serialHex);
  assert.ok(parts.serialHex.length >= 16 && parseInt(parts.serialHex.slice(0, 2), 16) < 0x80, "a random positive serial");
  assert.deepEqual(parts.extensions.filter((e) => e.oid !== "2.5.29.35").map((e) => e.raw.toString("hex")), oldParts.extensions.filter((e) => e.oid !== "2.5.29.35").map((e) => e.raw.toString("hex")));
  const p = parsedCertificate(parseCertificatePem(made.pem, "new"));
  assert.equal(p.getExtension(x509.BasicConstraintsExtension)?.pathLength, 1);
  assert.equal(p.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  assert.equal(p.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, parsedCertificate(old).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
  assert.equal(p.getExtension(x509.ExtendedKeyUsageExtension), null, "no EKU");
  assert.deepEqual([...p.extensions].filter((e) => e.critical).map((e) => e.type).sort(), ["2.5.29.15", "2.5.29.19"], "no new critical extension");
  assert.equal(made.notBefore.getTime(), NOW.getTime() - CA_BACKDATE_MS);
  assert.equal(made.notAfter.getTime(), NOW.getTime() + 3650 * DAY);
  const newCrt = join(dir, "new-ca.crt");
  await writeFile(newCrt, made.pem);
  const v = run("openssl", ["verify", "-CAfile", newCrt, leaf]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(joinHash(newCrt), joinHash(ca.crt), "kubeadm's discovery-token-ca-cert-hash is unchanged");
});

test("a 2016-style CA without a subject key identifier is re-signed without one, and its leaves still verify", async (t) => {
  if (!needTools(t, "openssl")) return;
  const dir = await tempDir(t);
  const ca = await opensslCa(dir, "ca", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], ["CN = kubernetes"],
    ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,digitalSignature,keyEncipherment", "subjectKeyIdentifier = none", "authorityKeyIdentifier = none"]);
  const leaf = await opensslLeaf(dir, "leaf", ca, ["basicConstraints = CA:FALSE", "keyUsage = critical,digitalSignature", "authorityKeyIdentifier = none"]);
  const old = await load(ca.crt);
  assert.equal(parsedCertificate(old).getExtension(x509.SubjectKeyIdentifierExtension), null, "the fixture has no SKID");
  const made = resignCa({ old, key: parsePrivateKeyPem(await readFile(ca.key, "utf8"), ca.key), name: "ca", now: NOW, validityDays: 30 });
  const p = parsedCertificate(parseCertificatePem(made.pem, "new"));
  assert.equal(p.getExtension(x509.SubjectKeyIdentifierExtension), null, "still no SKID");
  assert.equal(p.getExtension(x509.AuthorityKeyIdentifierExtension), null, "no AKID made up");
  assert.equal(p.getExtension(x509.BasicConstraintsExtension)?.pathLength, undefined);
  assert.equal(p.signatureAlgorithm.hash.name, "SHA-384", "a P-384 key signs with SHA-384, as Go does");
  const newCrt = join(dir, "new-ca.crt");
  await writeFile(newCrt, made.pem);
  const v = run("openssl", ["verify", "-CAfile", newCrt, leaf]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.deepEqual(checkLeaves([{ name: "leaf", cert: await load(leaf) }], old.x509, made.x509, ca.crt), { checked: ["leaf"], otherIssuer: [], mustRenew: [] });
});

test("a leaf whose authority key identifier names its CA by issuer and serial is reported to be renewed: OpenSSL rejects it against the new serial", async (t) => {
  if (!needTools(t, "openssl")) return;
  const dir = await tempDir(t);
  const ca = await opensslCa(dir, "ca", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], ["CN = front-proxy-ca"],
    ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign", "subjectKeyIdentifier = hash"]);
  const leaf = await opensslLeaf(dir, "front-proxy-client", ca, ["basicConstraints = CA:FALSE", "authorityKeyIdentifier = keyid:always,issuer:always"]);
  const old = await load(ca.crt);
  const made = resignCa({ old, key: parsePrivateKeyPem(await readFile(ca.key, "utf8"), ca.key), name: "front-proxy-ca", now: NOW, validityDays: 30 });
  const newCrt = join(dir, "new-ca.crt");
  await writeFile(newCrt, made.pem);
  const v = run("openssl", ["verify", "-CAfile", newCrt, leaf]);
  assert.notEqual(v.status, 0, "OpenSSL checks the serial named in the AKID");
  const r = checkLeaves([{ name: "front-proxy-client", cert: await load(leaf) }], old.x509, made.x509, ca.crt);
  assert.deepEqual(r.mustRenew, ["front-proxy-client"]);
});

test("an intermediate CA is refused: re-signing it needs its parent's key", async (t) => {
  if (!needTools(t, "openssl")) return;
  const dir = await tempDir(t);
  const root = await opensslCa(dir, "root", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], ["CN = root"], ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign"]);
  const inter = await opensslLeaf(dir, "kubernetes", root, ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign"]);
  assert.throws(() => checkResignable(parseCertificatePem(run("cat", [inter]).stdout, inter), "ca"), (e: RenewCertsError) =>
    e.code === "CA_NOT_RENEWABLE" && /is an intermediate CA \(issued by CN=root, not by itself\): re-signing it needs its parent CA's key/.test(e.message));
});
