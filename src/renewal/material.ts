import type { KeyObject } from "node:crypto";
import type { LeafEntry, CaEntry } from "../inventory/scan.js";
import { CA_ROTATION_URL } from "../inventory/catalog.js";
import { parseCertificatePem, parsePrivateKeyPem, type Certificate } from "../pki/pem.js";
import { keySpecOf, type KeySpec } from "../pki/keys.js";
import { parsedCertificate } from "../pki/sign.js";
import { leafIdentity, type LeafIdentity } from "../pki/allow-list.js";
import { readText } from "../util/fs.js";
import { RenewCertsError } from "../errors.js";

/** A certificate authority loaded for signing: its certificate, PEM and private key. */
export interface LoadedCa {
  entry: CaEntry;
  cert: Certificate;
  pem: string;
  key: KeyObject;
}

/** A leaf loaded for renewal, with everything checked that can be checked before signing. */
export interface LoadedLeaf {
  leaf: LeafEntry;
  cert: Certificate;
  key: KeyObject;
  spec: KeySpec;
  ca: LoadedCa;
  /** What the renewed certificate keeps of this one (pki/allow-list.ts). */
  identity: LeafIdentity;
}


/** Loads a CA's certificate and key and checks that they belong together. */
export async function loadCa(entry: CaEntry): Promise<LoadedCa> {
  const pem = await readText(entry.certFile, "CA certificate");
  const cert = parseCertificatePem(pem, entry.certFile);
  const key = parsePrivateKeyPem(await readText(entry.keyFile, "CA key"), entry.keyFile);
  if (!cert.x509.checkPrivateKey(key)) {
    throw new RenewCertsError("MISMATCH", `CA key ${entry.keyFile} does not match its certificate ${entry.certFile}: restore the CA's pair from a backup; nothing was changed`, { file: entry.keyFile });
  }
  return { entry, cert, pem, key };
}

async function readLeafKey(leaf: LeafEntry): Promise<KeyObject> {
  const kc = leaf.kubeconfig;
  if (kc && kc.clientKey?.kind === "data") return parsePrivateKeyPem(kc.clientKey.pem, `${kc.file} (users[${kc.userName}].user.client-key-data)`);
  if (kc && kc.clientKey === undefined) {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${kc.file}: user ${kc.userName} has no client key: restore it from a backup`, { file: kc.file });
  }
  return parsePrivateKeyPem(await readText(leaf.keyFile, "key"), leaf.keyFile);
}

/**
 * Throws CA_NOT_VALID unless `ca` is valid at `at` (the renewal's start): a certificate signed by
 * an expired CA would end before it begins, and one signed by a CA not yet valid cannot be trusted.
 */
export function checkCaUsable(ca: LoadedCa, at: Date): void {
  const { certFile, spec } = ca.entry;
  if (at.getTime() >= ca.cert.notAfter.getTime()) {
    throw new RenewCertsError("CA_NOT_VALID", `CA ${certFile} (${spec.name}) expired on ${ca.cert.notAfter.toISOString()}: the certificates it signs cannot be renewed until it is re-signed with its own key: renew-certs ca renew ${spec.name} (see renew-certs ca --help; for a compromised key, rotate it as in ${CA_ROTATION_URL}); nothing was changed`, { file: certFile });
  }
  if (at.getTime() < ca.cert.notBefore.getTime()) {
    throw new RenewCertsError("CA_NOT_VALID", `CA ${certFile} (${spec.name}) is not valid before ${ca.cert.notBefore.toISOString()}, and this host's clock says ${at.toISOString()}: fix the clock (timedatectl), or rotate the CA as in ${CA_ROTATION_URL}; nothing was changed`, { file: certFile });
  }
}

/**
 * Loads a leaf for renewal and checks it: its key matches its certificate, its certificate is
 * signed by its CA, its key type is one renew-certs can reproduce, and it is a leaf renew-certs
 * may re-issue (not a CA, no unknown critical extension: pki/allow-list.ts).
 */
export async function loadLeaf(leaf: LeafEntry, ca: LoadedCa): Promise<LoadedLeaf> {
  const cert = leaf.cert!;
  const key = await readLeafKey(leaf);
  const where = leaf.kubeconfig ? leaf.kubeconfig.file : leaf.certFile;
  const spec = keySpecOf(cert.x509.publicKey, where);
  if (!cert.x509.checkPrivateKey(key)) {
    throw new RenewCertsError("MISMATCH", `key ${leaf.keyFile} does not match its certificate ${leaf.certFile} (${leaf.spec.name}): restore both from a backup; nothing was changed`, { file: leaf.keyFile });
  }
  if (!cert.x509.verify(ca.cert.x509.publicKey)) {
    throw new RenewCertsError("MISMATCH", `certificate ${where} (${leaf.spec.name}) is not signed by CA ${ca.entry.certFile}: restore it from a backup or renew it with the CA that issued it; nothing was changed`, { file: where });
  }
  let identity: LeafIdentity;
  try {
    identity = leafIdentity(parsedCertificate(cert), { where, name: leaf.spec.name, ca: ca.entry.spec.name });
  } catch (cause) {
    if (cause instanceof RenewCertsError) throw cause;
    throw new RenewCertsError("PEM", `${where} (${leaf.spec.name}) holds a certificate whose names or extensions cannot be read: restore it from a backup; nothing was changed`, { file: where, cause });
  }
  return { leaf, cert, key, spec, ca, identity };
}
