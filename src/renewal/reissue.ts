import { X509Certificate, type KeyObject } from "node:crypto";
import { generateKey, privateKeyPem } from "../pki/keys.js";
import { issueCertificate, parsedCertificate, subjectKeyIdExtension, type x509 } from "../pki/sign.js";
import { renewedExtensions } from "../pki/allow-list.js";
import { RenewCertsError } from "../errors.js";
import { DAY_MS } from "../policy/age.js";
import { checkCaUsable, type LoadedLeaf } from "./material.js";

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

/** Throws BAD_VALIDITY unless NotBefore < NotAfter: the invariant of every certificate written. */
export function checkValidity(name: string, notBefore: Date, notAfter: Date): void {
  if (notBefore.getTime() >= notAfter.getTime()) {
    throw new RenewCertsError("BAD_VALIDITY", `the new certificate for ${name} would be valid from ${notBefore.toISOString()} until ${notAfter.toISOString()}, which is no time at all; nothing was written: check the clock and its CA's dates (renew-certs status)`);
  }
}

/**
 * Checks a new certificate before anything is written, with OpenSSL and without parsing it again
 * with the X.509 library: it chains to its CA, its key matches, it is no CA, its subject is the
 * old certificate's (the same bytes), its issuer the CA's subject (the same bytes: Go chains
 * certificates by them), it carries every extension built for it byte for byte (`built`), its
 * extended key usages and (when none were left out) names read as the old certificate's, and its
 * window is not empty. Throws RENEW_FAILED (BAD_VALIDITY for the window) naming the certificate.
 */
export function checkReissued(r: Pick<Reissued, "cert" | "key" | "loaded">, built: readonly x509.Extension[]): void {
  const { cert, key, loaded } = r;
  const old = loaded.cert.x509;
  const name = loaded.leaf.spec.name;
  const fail = (why: string): never => {
    throw new RenewCertsError("RENEW_FAILED", `the new certificate for ${name} failed its check (${why}); nothing was written`);
  };
  if (!cert.verify(loaded.ca.cert.x509.publicKey)) fail(`not signed by ${loaded.ca.entry.spec.name}`);
  if (!cert.checkPrivateKey(key)) fail("its key does not match");
  if (cert.ca) fail("it is a CA");
  const subject = loaded.identity.subjectDer;
  if (cert.subject !== old.subject || !loaded.cert.der.includes(subject) || !cert.raw.includes(subject)) fail("its subject is not byte for byte the old certificate's");
  const issuer = Buffer.from(parsedCertificate(loaded.ca.cert).subjectName.toArrayBuffer());
  if (cert.issuer !== loaded.ca.cert.x509.subject || !loaded.ca.cert.der.includes(issuer) || !cert.raw.includes(issuer)) fail(`its issuer is not byte for byte the subject of ${loaded.ca.entry.certFile}`);
  for (const e of built) if (!cert.raw.includes(Buffer.from(e.rawData))) fail(`extension ${e.type} is not as built`);
  if (JSON.stringify(cert.keyUsage) !== JSON.stringify(loaded.identity.extendedKeyUsages)) fail("its extended key usages differ from the old certificate's");
  if (loaded.identity.droppedNames.length === 0 && cert.subjectAltName !== old.subjectAltName) fail("its subject alternative names differ from the old certificate's");
  if (cert.serialNumber === old.serialNumber) fail("serial number was reused");
  if (cert.publicKey.export({ type: "spki", format: "der" }).equals(old.publicKey.export({ type: "spki", format: "der" }))) fail("public key was reused");
  checkValidity(name, new Date(cert.validFrom), new Date(cert.validTo));
}

/**
 * Makes the renewed certificate of one leaf, as kubeadm's renewal does (pki/allow-list.ts): a new
 * key of the same algorithm and size, the old subject, names and extended key usages, kubeadm's
 * key usage and basic constraints, a fresh serial, NotBefore = start − 5 min, NotAfter = start +
 * validity capped at the CA's NotAfter. Refuses a CA that is not valid at `start` (CA_NOT_VALID).
 */
export async function reissue(loaded: LoadedLeaf, start: Date, validityDays: number, newKey?: KeyObject): Promise<Reissued> {
  const ca = loaded.ca;
  checkCaUsable(ca, start);
  const key = newKey ?? (await generateKey(loaded.spec));
  const caNotAfter = ca.cert.notAfter;
  const { notBefore, notAfter, capped } = validityWindow(start, validityDays, caNotAfter);
  checkValidity(loaded.leaf.spec.name, notBefore, notAfter);
  const extensions = renewedExtensions(loaded.identity, await subjectKeyIdExtension(key));
  const certPem = await issueCertificate({ subject: loaded.identity.subject, key, issuer: { cert: ca.cert, key: ca.key }, notBefore, notAfter, extensions });
  const cert = new X509Certificate(certPem);
  const reissued: Reissued = {
    loaded, cert, certPem, key, keyPem: privateKeyPem(key), notBefore, notAfter,
    cappedAtCaDaysLeft: capped ? Math.floor((caNotAfter.getTime() - start.getTime()) / DAY_MS) : undefined,
  };
  checkReissued(reissued, extensions);
  return reissued;
}

/** The loud log line of a renewal capped at its CA's expiry, or undefined when it was not capped. */
export function capWarning(r: Reissued): string | undefined {
  if (r.cappedAtCaDaysLeft === undefined) return undefined;
  const ca = r.loaded.ca.entry.spec.name;
  return `CERTIFICATE ${r.loaded.leaf.spec.name} CAPPED AT ITS CA'S EXPIRY: CA ${ca} has only ${r.cappedAtCaDaysLeft} days left; re-sign it with its own key before then (renew-certs ca renew ${ca}), then renew this certificate again`;
}

