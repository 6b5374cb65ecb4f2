/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/** kubeadm's default leaf validity, in days. */
export const DEFAULT_VALIDITY_DAYS = 365;

/**
 * When a certificate was really issued. kubeadm ≥ v1.31 writes NotBefore = issue − 5 minutes;
 * older kubeadm renewed certificates with the CA's NotBefore (years ago) and NotAfter = issue +
 * validity. The later of "NotBefore + 5 min" and "NotAfter − validity" is right for both, and a
 * certificate capped at its CA's NotAfter falls back to its NotBefore. Never later than `now`.
 */
export function issuedAt(notBefore: Date, notAfter: Date, now: Date, validityDays = DEFAULT_VALIDITY_DAYS): Date {
  const fromNotBefore = notBefore.getTime() + 5 * 60_000;
  const fromNotAfter = notAfter.getTime() - validityDays * DAY_MS;
  return new Date(Math.min(Math.max(fromNotBefore, fromNotAfter), now.getTime()));
}

/** Age in seconds of a certificate at `now` (see issuedAt). */
export function ageSeconds(notBefore: Date, notAfter: Date, now: Date, validityDays = DEFAULT_VALIDITY_DAYS): number {
  return Math.max(0, Math.floor((now.getTime() - issuedAt(notBefore, notAfter, now, validityDays).getTime()) / 1000));
}
