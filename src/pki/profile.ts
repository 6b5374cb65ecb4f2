import { x509, subjectKeyIdExtension } from "./sign.js";
import { LEAF_KEY_USAGE } from "./allow-list.js";
import type { KeyObject } from "node:crypto";

/** What a new certificate says about itself: kubeadm's certutil.Config. */
export interface CertProfile {
  /** Subject as "CN=…, O=…" (kubeadm sets CommonName and Organization only). */
  subject: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Extended key usages: "serverAuth", "clientAuth". */
  usages: ("serverAuth" | "clientAuth")[];
}

/**
 * The extensions kubeadm's pkiutil.NewSignedCert writes for a leaf certificate. `_keyType` is
 * accepted for callers that know it: kubeadm writes the same key usage for RSA and ECDSA keys.
 */
export function leafExtensions(profile: CertProfile, _keyType: "rsa" | "ec"): x509.Extension[] {
  const ext: x509.Extension[] = [
    new x509.KeyUsagesExtension(LEAF_KEY_USAGE, true),
    new x509.ExtendedKeyUsageExtension(profile.usages.map((u) => (u === "serverAuth" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth)), false),
    new x509.BasicConstraintsExtension(false, undefined, true),
  ];
  const names = [
    ...(profile.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(profile.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length > 0) ext.push(new x509.SubjectAlternativeNameExtension(names, false));
  return ext;
}

/** The extensions kubeadm writes for a CA: key usages, CA:TRUE, subject key id (SANs: the CN). */
export async function caExtensions(key: KeyObject, commonName: string): Promise<x509.Extension[]> {
  return [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign, true),
    new x509.BasicConstraintsExtension(true, undefined, true),
    await subjectKeyIdExtension(key),
    new x509.SubjectAlternativeNameExtension([{ type: "dns", value: commonName }], false),
  ];
}
