import type { Inventory } from "./scan.js";
import { ageSeconds, DAY_MS } from "../policy/age.js";

/** One row of `status`: kubeadm's CertificateExpirationInfo plus age and files. */
export interface CertificateStatus {
  name: string;
  /** RFC 3339; absent when missing. */
  expirationDate: string | undefined;
  /** Seconds until expiry (negative once expired). */
  residualTime: number;
  externallyManaged: boolean;
  caName: string;
  missing: boolean;
  /** Seconds since the certificate was issued (see policy/age.ts). */
  age: number;
  /** Fraction of the lifetime left, 0…1. */
  lifetimeLeft: number;
  files: string[];
  renewable: boolean;
}

/** One row of the CA table. */
export interface AuthorityStatus {
  name: string;
  expirationDate: string | undefined;
  residualTime: number;
  externallyManaged: boolean;
  missing: boolean;
  age: number;
  lifetimeLeft: number;
  files: string[];
}

/** The whole `status` report, shaped like kubeadm's `check-expiration -o json`. */
export interface StatusReport {
  kind: "CertificateExpirationInfo";
  apiVersion: "renew-certs/v1";
  root: string;
  certificates: CertificateStatus[];
  certificateAuthorities: AuthorityStatus[];
  /** kubelet.conf's client certificate; `renewable`: `run` re-issues it now (a file, expired or within the safety margin). */
  kubelet: { file: string; missing: boolean; expirationDate: string | undefined; residualTime: number; embedded: boolean; certFile?: string; age?: number; renewable?: boolean } | undefined;
  warnings: string[];
}

function times(notBefore: Date | undefined, notAfter: Date | undefined, now: Date, caNotBefore: Date | undefined): { residual: number; age: number; left: number } {
  if (!notBefore || !notAfter) return { residual: 0, age: 0, left: 0 };
  const residual = Math.floor((notAfter.getTime() - now.getTime()) / 1000);
  const life = notAfter.getTime() - notBefore.getTime();
  const left = life <= 0 ? 0 : Math.min(1, Math.max(0, (notAfter.getTime() - now.getTime()) / life));
  return { residual, age: ageSeconds(notBefore, notAfter, now, caNotBefore), left };
}

/** The warning for a CA that has expired or expires within the safety margin, else undefined. */
function caWarning(name: string, notAfter: Date, now: Date, safetyMarginDays: number): string | undefined {
  const left = notAfter.getTime() - now.getTime();
  if (left <= 0) return `CA ${name} EXPIRED on ${notAfter.toISOString()}: renew-certs refuses to renew the certificates it signs until it is re-signed with its own key: renew-certs ca renew ${name}`;
  if (left < safetyMarginDays * DAY_MS) return `CA ${name} EXPIRES in ${Math.floor(left / DAY_MS)} days, within the safety margin of ${safetyMarginDays} days: every certificate it signs is capped at ${notAfter.toISOString()} and renewed again each day until then; re-sign the CA now: renew-certs ca renew ${name}`;
  return undefined;
}

/**
 * Builds the status report of an inventory at `now`; a CA with less than `safetyMarginDays` left
 * (default 30, the setting's default) gets a warning. Pure.
 */
export function buildStatus(inv: Inventory, now: Date, safetyMarginDays = 30): StatusReport {
  const warnings: string[] = [];
  const certificates = inv.leaves.map((l): CertificateStatus => {
    const nb = l.cert ? l.cert.notBefore : undefined;
    const na = l.cert ? l.cert.notAfter : undefined;
    const t = times(nb, na, now, l.ca.cert?.notBefore);
    return {
      name: l.spec.name,
      expirationDate: na?.toISOString(),
      residualTime: t.residual,
      externallyManaged: l.externallyManaged,
      caName: l.spec.ca,
      missing: l.missing,
      age: t.age,
      lifetimeLeft: t.left,
      files: l.files,
      renewable: !l.missing && !l.externallyManaged,
    };
  });
  const certificateAuthorities = inv.cas.map((c): AuthorityStatus => {
    const nb = c.cert ? c.cert.notBefore : undefined;
    const na = c.cert ? c.cert.notAfter : undefined;
    const t = times(nb, na, now, undefined);
    const warning = na && caWarning(c.spec.name, na, now, safetyMarginDays);
    if (warning) warnings.push(warning);
    return { name: c.spec.name, expirationDate: na?.toISOString(), residualTime: t.residual, externallyManaged: c.externallyManaged, missing: c.missing, age: t.age, lifetimeLeft: t.left, files: [c.certFile, c.keyFile] };
  });
  for (const c of certificateAuthorities) if (c.missing) warnings.push(`CA ${c.name} is missing (${c.files[0]}): the certificates it signs cannot be renewed`);
  let kubelet: StatusReport["kubelet"];
  if (inv.kubelet) {
    const k = inv.kubelet;
    const na = k.cert ? k.cert.notAfter : undefined;
    const residual = na ? Math.floor((na.getTime() - now.getTime()) / 1000) : 0;
    const t = times(k.cert?.notBefore, na, now, undefined);
    const renewable = Boolean(na && k.certFile && na.getTime() - now.getTime() <= safetyMarginDays * DAY_MS);
    kubelet = { file: k.file, missing: k.missing, expirationDate: na?.toISOString(), residualTime: residual, embedded: k.embedded, ...(k.certFile ? { certFile: k.certFile } : {}), age: t.age, renewable };
    if (k.embedded && na && na.getTime() - now.getTime() < 30 * DAY_MS) {
      warnings.push(`kubelet.conf embeds a client certificate that expires ${na.toISOString()}: the kubelet does not rotate an embedded certificate; point kubelet.conf at /var/lib/kubelet/pki/kubelet-client-current.pem (see kubeadm's "kubelet client certificate rotation")`);
    }
  }
  return { kind: "CertificateExpirationInfo", apiVersion: "renew-certs/v1", root: inv.root, certificates, certificateAuthorities, kubelet, warnings };
}
