// Hostile and sloppy PKIs for tests, built with the same X.509 library renew-certs signs with: a
// leaf replaced by one with other extensions, a CA certificate re-signed (same key) with other dates.
import { readFile, writeFile } from "node:fs/promises";
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { LAYOUT, CAS, LEAVES, type CaName } from "../../src/inventory/catalog.js";
import { parseCertificatePem, parsePrivateKeyPem, type Certificate } from "../../src/pki/pem.js";
import { generateKey, privateKeyPem } from "../../src/pki/keys.js";
import { extensionsOf, issueCertificate, subjectDer, subjectKeyIdExtension, x509 } from "../../src/pki/sign.js";
import { parseKubeconfig, withRenewedCredentials } from "../../src/kubeconfig/kubeconfig.js";

const DAY = 86_400_000;

/** A CA of a sandbox: its certificate and key, as files hold them. */
export async function readCa(root: string, ca: CaName): Promise<{ cert: Certificate; key: KeyObject; file: string }> {
  const base = join(root, LAYOUT.pkiDir, CAS.find((c) => c.name === ca)!.baseName);
  const cert = parseCertificatePem(await readFile(`${base}.crt`, "utf8"), `${base}.crt`);
  return { cert, key: parsePrivateKeyPem(await readFile(`${base}.key`, "utf8"), `${base}.key`), file: `${base}.crt` };
}

/** What a planted leaf is made of; defaults: an ECDSA key, valid from 10 days ago for 365 days. */
export interface PlantedLeaf {
  /** The catalog name of the leaf to replace ("front-proxy-client", "admin.conf"). */
  name: string;
  subject?: string | ArrayBuffer;
  /** Every extension but the authority key identifier (the CA's is added). */
  extensions: (key: KeyObject) => Promise<x509.Extension[]> | x509.Extension[];
  notBefore?: Date;
  notAfter?: Date;
}

/**
 * Replaces a leaf of a sandbox (a pair under pki/ or a kubeconfig's embedded credentials) by one
 * signed by its own CA with the given extensions. Returns the file that holds the new certificate.
 */
export async function plantLeaf(root: string, p: PlantedLeaf): Promise<string> {
  const spec = LEAVES.find((l) => l.name === p.name)!;
  const ca = await readCa(root, spec.ca);
  const key = await generateKey({ type: "ec", curve: "P-256" });
  const notBefore = p.notBefore ?? new Date(Date.now() - 10 * DAY);
  const pem = await issueCertificate({ subject: p.subject ?? `CN=${p.name}`, key, issuer: { cert: ca.cert, key: ca.key }, notBefore, notAfter: p.notAfter ?? new Date(notBefore.getTime() + 365 * DAY), extensions: await p.extensions(key) });
  if (spec.kind === "pair") {
    const file = join(root, LAYOUT.pkiDir, `${spec.baseName}.crt`);
    await writeFile(join(root, LAYOUT.pkiDir, `${spec.baseName}.key`), privateKeyPem(key), { mode: 0o600 });
    await writeFile(file, pem);
    return file;
  }
  const file = join(root, LAYOUT.kubernetesDir, spec.baseName);
  const kc = await parseKubeconfig(await readFile(file, "utf8"), file, root);
  await writeFile(file, await withRenewedCredentials(kc, pem, privateKeyPem(key), undefined));
  return file;
}

/** Re-signs a sandbox CA's certificate with its own key and other dates; its leaves still verify. */
export async function resignCa(root: string, ca: CaName, dates: { notBefore?: Date; notAfter?: Date }): Promise<string> {
  const { cert, key, file } = await readCa(root, ca);
  const extensions = extensionsOf(cert).filter((e) => e.type !== "2.5.29.35");
  const pem = await issueCertificate({ subject: subjectDer(cert), key, notBefore: dates.notBefore ?? cert.notBefore, notAfter: dates.notAfter ?? cert.notAfter, extensions });
  await writeFile(file, pem);
  return file;
}

/** kubeadm's extensions for a client leaf, plus `extra`, with a subject key id for the key. */
export async function clientExtensions(key: KeyObject, extra: x509.Extension[] = []): Promise<x509.Extension[]> {
  return [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
    new x509.BasicConstraintsExtension(false, undefined, true),
    await subjectKeyIdExtension(key),
    ...extra,
  ];
}
