// What a renewal carries over from an old leaf certificate, and what makes it refuse one.
//
// kubeadm's renewal (cmd/kubeadm/app/phases/certs/renewal/manager.go, certToConfig) reads from
// the old certificate only the subject's CommonName and Organization, the DNS and IP subject
// alternative names and the extended key usages; pkiutil.NewSignedCert
// (cmd/kubeadm/app/util/pkiutil/pki_helpers.go) sets the rest: KeyUsage = KeyEncipherment |
// DigitalSignature for every key type (ECDSA too), BasicConstraintsValid with IsCA false; Go's
// x509.CreateCertificate writes key usage and basic constraints as critical, the extended key
// usages and the names as not critical (the names critical when the subject is empty, RFC 5280
// 4.2.1.6) and the authority key identifier from the CA's subject key identifier. renew-certs
// does the same, keeps the whole subject byte for byte and URI and email names too, and gives the
// new key a subject key identifier. Nothing else is copied: a policy, a name constraint or any
// other extension of the old certificate is left out, and a certificate whose meaning would
// change by that (a CA where a leaf belongs, an unknown critical extension) is refused.
import { RenewCertsError } from "../errors.js";
import { OID, x509 } from "./sign.js";

/** kubeadm's key usage for every leaf, RSA or ECDSA (pkiutil.NewSignedCert). */
export const LEAF_KEY_USAGE = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;

/** The kinds of subject alternative names a renewal keeps. */
const KEPT_NAMES: readonly string[] = ["dns", "ip", "url", "email"];

/** Extensions a renewal writes itself; a critical one of any other kind is refused. */
const WRITTEN: readonly string[] = Object.values(OID);

/** Names of extensions people may meet on a hostile or sloppy leaf, for the refusal message. */
const KNOWN_NAMES: Readonly<Record<string, string>> = {
  "2.5.29.30": "name constraints",
  "2.5.29.32": "certificate policies",
  "2.5.29.33": "policy mappings",
  "2.5.29.36": "policy constraints",
  "2.5.29.54": "inhibit any policy",
  "2.5.29.31": "CRL distribution points",
  "1.3.6.1.5.5.7.1.1": "authority information access",
  "1.3.6.1.5.5.7.1.24": "TLS feature",
};

/** What a renewed leaf keeps of the old one. */
export interface LeafIdentity {
  /** The subject Name as the old certificate holds it. */
  subject: x509.Name;
  /** The DER the new certificate carries for it (the old certificate must hold the same bytes). */
  subjectDer: Buffer;
  /** DNS, IP, URI and email names, in the old order. */
  altNames: x509.JsonGeneralName[];
  /** The kinds of names of the old certificate left out ("upn", "dn"…), as kubeadm leaves them out. */
  droppedNames: string[];
  /** The extended key usages (OIDs), or undefined when the old certificate has none. */
  extendedKeyUsages: string[] | undefined;
}

/** Where a certificate sits and what it is called, for messages. */
export interface LeafLabel {
  /** The file (or kubeconfig field) it was read from. */
  where: string;
  /** kubeadm's name for it ("front-proxy-client", "admin.conf"). */
  name: string;
  /** The CA that signs it ("front-proxy-ca"). */
  ca: string;
}

/** What makes `cert` a CA ("basic constraints CA:TRUE", "key usage keyCertSign", "key usage cRLSign"); empty for a leaf. */
export function caBitsOf(cert: x509.X509Certificate): string[] {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  return [
    bc?.ca ? "basic constraints CA:TRUE" : "",
    ku && ku.usages & x509.KeyUsageFlags.keyCertSign ? "key usage keyCertSign" : "",
    ku && ku.usages & x509.KeyUsageFlags.cRLSign ? "key usage cRLSign" : "",
  ].filter(Boolean);
}

/** The first critical extension of `cert` a renewal does not write, named for people ("name constraints (2.5.29.30)"), or undefined. */
export function unknownCriticalOf(cert: x509.X509Certificate): string | undefined {
  const unknown = cert.extensions.find((e) => e.critical && !WRITTEN.includes(e.type));
  if (!unknown) return undefined;
  return KNOWN_NAMES[unknown.type] ? `${KNOWN_NAMES[unknown.type]} (${unknown.type})` : unknown.type;
}

/**
 * Reads what a renewal keeps of `cert` and refuses a certificate that must not be re-issued as a
 * leaf: a CA (basic constraints CA:TRUE, or key usage keyCertSign or cRLSign: whoever holds a new
 * key for it could sign certificates that `label.ca`'s clients trust), or one with a critical
 * extension renew-certs does not write (leaving it out would change what the certificate allows).
 */
export function leafIdentity(cert: x509.X509Certificate, label: LeafLabel): LeafIdentity {
  const caBits = caBitsOf(cert);
  if (caBits.length > 0) {
    throw new RenewCertsError("LEAF_IS_CA", `${label.where} (${label.name}) is a CA certificate (${caBits.join(", ")}) where kubeadm keeps a leaf: renew-certs will not give it a new key, which could sign certificates that ${label.ca}'s clients trust; replace it with a leaf (kubeadm certs renew ${label.name}) or restore it from a backup; nothing was changed`, { file: label.where });
  }
  const what = unknownCriticalOf(cert);
  if (what) {
    throw new RenewCertsError("UNKNOWN_CRITICAL", `${label.where} (${label.name}) carries a critical extension renew-certs does not carry over, ${what}: renewed without it, the certificate would allow more than before; re-issue it with the tool that made it, or as kubeadm would (kubeadm certs renew ${label.name}); nothing was changed`, { file: label.where });
  }
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    subject: cert.subjectName,
    subjectDer: Buffer.from(cert.subjectName.toArrayBuffer()),
    altNames: names.filter((n) => KEPT_NAMES.includes(n.type)).map((n) => n.toJSON()),
    droppedNames: names.filter((n) => !KEPT_NAMES.includes(n.type)).map((n) => n.type),
    extendedKeyUsages: eku ? Array.from(eku.usages, String) : undefined,
  };
}

/**
 * The extensions of a renewed leaf, in the order Go writes them: key usage (critical), extended
 * key usage, basic constraints CA:FALSE (critical), the subject key identifier of the new key,
 * then the names. The authority key identifier is added by the issuer (sign.ts).
 */
export function renewedExtensions(id: LeafIdentity, subjectKeyId: x509.Extension): x509.Extension[] {
  const out: x509.Extension[] = [new x509.KeyUsagesExtension(LEAF_KEY_USAGE, true)];
  if (id.extendedKeyUsages) out.push(new x509.ExtendedKeyUsageExtension(id.extendedKeyUsages, false));
  out.push(new x509.BasicConstraintsExtension(false, undefined, true), subjectKeyId);
  // An empty subject (a SEQUENCE with no RDN, 2 bytes) makes the names the identity: critical then.
  if (id.altNames.length > 0) out.push(new x509.SubjectAlternativeNameExtension(id.altNames, id.subjectDer.length === 2));
  return out;
}
