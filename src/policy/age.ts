/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/** kubeadm's default leaf validity, in days. */
export const DEFAULT_VALIDITY_DAYS = 365;

/** The backdate kubeadm (and renew-certs) gives NotBefore: 5 minutes before the issue time. */
const BACKDATE_MS = 5 * 60_000;

/**
 * True when a certificate carries the signature of kubeadm before v1.31, which issued and renewed
 * leaves with NotBefore = its CA's NotBefore and NotAfter = issue time + 365 days: the same
 * NotBefore as the CA's, or one from before the CA's that no backdate explains (a CA certificate
 * re-signed later with the same key keeps the old leaves older than itself).
 */
export function hasPreV131Signature(notBefore: Date, caNotBefore: Date | undefined): boolean {
  if (caNotBefore === undefined) return false;
  const nb = notBefore.getTime();
  const ca = caNotBefore.getTime();
  return nb === ca || nb < ca - BACKDATE_MS;
}

/**
 * When a certificate was really issued. kubeadm ≥ v1.31 and renew-certs write NotBefore = issue −
 * 5 minutes, whatever the validity (90, 365, 730 days, or capped at the CA's NotAfter): the issue
 * time is NotBefore + 5 min. Only a certificate with kubeadm's pre-v1.31 signature (see
 * hasPreV131Signature; `caNotBefore` is its issuing CA's NotBefore) is dated from its NotAfter −
 * 365 days, as NotBefore alone would make it look years old. Never earlier than NotBefore, never
 * later than `now`.
 */
export function issuedAt(notBefore: Date, notAfter: Date, now: Date, caNotBefore?: Date): Date {
  const issued = hasPreV131Signature(notBefore, caNotBefore)
    ? Math.max(notBefore.getTime(), notAfter.getTime() - DEFAULT_VALIDITY_DAYS * DAY_MS)
    : notBefore.getTime() + BACKDATE_MS;
  return new Date(Math.min(issued, now.getTime()));
}

/** Age in seconds of a certificate at `now` (see issuedAt). */
export function ageSeconds(notBefore: Date, notAfter: Date, now: Date, caNotBefore?: Date): number {
  return Math.max(0, Math.floor((now.getTime() - issuedAt(notBefore, notAfter, now, caNotBefore).getTime()) / 1000));
}
