// A stand-in for the renewal engine in restart tests: issues a new API server certificate and
// key with the sandbox CA and writes them where kube-apiserver's manifest points.
import { readFile, writeFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { LAYOUT } from "../../src/inventory/catalog.js";
import { parseCertificatePem, parsePrivateKeyPem } from "../../src/pki/pem.js";
import { generateKey, privateKeyPem } from "../../src/pki/keys.js";
import { issueCertificate } from "../../src/pki/sign.js";
import { leafExtensions } from "../../src/pki/profile.js";
import { kubeadmProfiles } from "../../src/sandbox/profiles.js";

/** Writes a freshly issued pki/apiserver.crt/.key under `root` (address 127.0.0.1) and returns the new certificate's SHA-256 fingerprint. */
export async function reissueApiserver(root: string): Promise<string> {
  const pki = join(root, LAYOUT.pkiDir);
  const caCert = parseCertificatePem(await readFile(join(pki, "ca.crt"), "utf8"), "ca.crt");
  const caKey = parsePrivateKeyPem(await readFile(join(pki, "ca.key"), "utf8"), "ca.key");
  const profile = kubeadmProfiles({ nodeName: "cp-1", address: "127.0.0.1", apiserverPort: 6443, serviceIp: "10.96.0.1" }).find((p) => p.name === "apiserver")!.profile;
  const key = await generateKey({ type: "ec", curve: "P-256" });
  const now = Date.now();
  const pem = await issueCertificate({ subject: profile.subject, key, issuer: { cert: caCert, key: caKey }, notBefore: new Date(now - 300_000), notAfter: new Date(now + 365 * 86_400_000), extensions: leafExtensions(profile, "ec") });
  await writeFile(join(pki, "apiserver.key"), privateKeyPem(key), { mode: 0o600 });
  await writeFile(join(pki, "apiserver.crt"), pem);
  return new X509Certificate(pem).fingerprint256;
}
