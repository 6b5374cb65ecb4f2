import { X509Certificate, type KeyObject } from "node:crypto";
import { generateKey, keySpecOf, privateKeyPem } from "../pki/keys.js";
import { OID, subjectKeyIdOf } from "../pki/der.js";
import { resignCertificate } from "../pki/resign.js";
import type { Certificate } from "../pki/pem.js";
import { RenewCertsError } from "../errors.js";
import { DAY_MS } from "../policy/age.js";
import type { LoadedLeaf } from "./material.js";

/** A renewed certificate and key, made and checked in memory, not yet written. */
export interface Reissued {
  loaded: LoadedLeaf;
  cert: X509Certificate;
  certPem: string;
  key: KeyObject;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  /** Set when NotAfter was capped at the CA's NotAfter: the CA's days left. */
  cappedAtCaDaysLeft: number | undefined;
}

/**
 * The validity window of a renewal: kubeadm backdates NotBefore by 5 minutes. Whole seconds, as
 * a certificate stores them, so that what is logged and reported is what the certificate says.
 */
export function validityWindow(start: Date, validityDays: number, caNotAfter: Date): { notBefore: Date; notAfter: Date; capped: boolean } {
  const second = Math.floor(start.getTime() / 1000) * 1000;
  const notBefore = new Date(second - 5 * 60_000);
  const wanted = new Date(second + validityDays * DAY_MS);
  const capped = wanted.getTime() > caNotAfter.getTime();
  return { notBefore, notAfter: capped ? caNotAfter : wanted, capped };
}

const IDENTITY_OIDS: readonly string[] = [OID.subjectAltName, OID.keyUsage, OID.extKeyUsage, OID.basicConstraints];

/**
 * The DER of the old certificate's identity: its subject and its identity extensions (each whole:
 * OID, criticality, value). The new certificate must contain each byte for byte; searching its DER
 * for them avoids parsing every new certificate again with the ASN.1 library, the slow part.
 */
function identityDer(cert: Certificate): { subject: Buffer; extensions: { oid: string; der: Buffer }[] } {
  return { subject: cert.fields.subject, extensions: cert.fields.extensions.filter((e) => IDENTITY_OIDS.includes(e.oid)) };
}

/**
 * Checks a new certificate before anything is written: it chains to its CA, its key matches,
 * and its identity (subject, SANs, key usage, extended key usage, basic constraints) equals the
 * old certificate's. Throws RENEW_FAILED naming the certificate otherwise.
 */
export function checkReissued(r: Pick<Reissued, "cert" | "key" | "loaded">): void {
  const { cert, key, loaded } = r;
  const name = loaded.leaf.spec.name;
  const fail = (why: string): never => {
    throw new RenewCertsError("RENEW_FAILED", `the new certificate for ${name} failed its check (${why}); nothing was written`);
  };
  if (!cert.verify(loaded.ca.cert.x509.publicKey)) fail(`not signed by ${loaded.ca.entry.spec.name}`);
  if (!cert.checkPrivateKey(key)) fail("its key does not match");
  const old = identityDer(loaded.cert);
  if (cert.subject !== loaded.cert.x509.subject || !cert.raw.includes(old.subject)) fail("subject differs from the old certificate");
  for (const e of old.extensions) if (!cert.raw.includes(e.der)) fail(`extension ${e.oid} differs from the old certificate`);
  if (cert.serialNumber === loaded.cert.x509.serialNumber) fail("serial number was reused");
  if (cert.publicKey.export({ type: "spki", format: "der" }).equals(loaded.cert.x509.publicKey.export({ type: "spki", format: "der" }))) fail("public key was reused");
}

/**
 * Makes the renewed certificate of one leaf: a new key of the same algorithm and size, the same
 * subject and extensions (subject key id recomputed, authority key id from the CA), a fresh
 * serial, NotBefore = start − 5 min, NotAfter = start + validity capped at the CA's NotAfter.
 */
export async function reissue(loaded: LoadedLeaf, start: Date, validityDays: number, newKey?: KeyObject): Promise<Reissued> {
  const key = newKey ?? (await generateKey(loaded.spec));
  const caNotAfter = loaded.ca.cert.notAfter;
  const { notBefore, notAfter, capped } = validityWindow(start, validityDays, caNotAfter);
  const ca = loaded.ca;
  const certPem = resignCertificate({
    subject: loaded.cert.fields.subject,
    extensions: loaded.cert.fields.extensions,
    key,
    issuer: { subject: ca.cert.fields.subject, keyId: subjectKeyIdOf(ca.cert.fields), key: ca.key, spec: keySpecOf(ca.key, ca.entry.keyFile) },
    notBefore,
    notAfter,
  });
  const cert = new X509Certificate(certPem);
  const reissued: Reissued = {
    loaded, cert, certPem, key, keyPem: privateKeyPem(key), notBefore, notAfter,
    cappedAtCaDaysLeft: capped ? Math.floor((caNotAfter.getTime() - start.getTime()) / DAY_MS) : undefined,
  };
  checkReissued(reissued);
  return reissued;
}
