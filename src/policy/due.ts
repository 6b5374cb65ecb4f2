import type { Inventory } from "../inventory/scan.js";
import { RenewCertsError } from "../errors.js";
import { ageSeconds, issuedAt, DAY_MS } from "./age.js";

/** A renewable certificate's validity window. */
export interface CertWindow {
  name: string;
  notBefore: Date;
  notAfter: Date;
  /** The issuing CA's NotBefore: tells kubeadm's pre-v1.31 certificates apart (policy/age.ts). */
  caNotBefore?: Date;
}

/** The settings the decision depends on (a subset of Settings). */
export interface DuePolicy {
  /** Renew when a certificate is this many days old; 0 disables renewal. */
  certificateRenewInterval: number;
  /** Renew when a certificate expires within this many days. */
  safetyMarginDays: number;
  /** Validity of renewed certificates, in days (only bounds the interval). */
  validityDays: number;
}

/** Why a run renews: one per certificate that triggers it. */
export interface DueReason {
  name: string;
  kind: "expired" | "expires-within-margin" | "older-than-interval";
  text: string;
}

/** The decision of `run`: renew now or not, why, and when it will be due. */
export interface DueDecision {
  due: boolean;
  /** The interval is 0: renewal is switched off. */
  disabled: boolean;
  reasons: DueReason[];
  /** The oldest renewable certificate (undefined when there is none). */
  oldest: { name: string; ageDays: number; ageSeconds: number; issuedAt: Date } | undefined;
  /** When the first certificate becomes due (by age or by the margin); undefined when disabled or none. */
  dueDate: Date | undefined;
}

/** Certificates shorter-lived than the interval plus this many days would expire before renewal. */
export const MIN_DAYS_AFTER_INTERVAL = 7;

/**
 * The problem with a renewal interval, or undefined when it is valid: a whole number of days,
 * 0 (disabled) or more, and less than validity − 7 days (else certificates would expire before
 * being renewed). Pure; the one place of this rule.
 */
export function intervalProblem(interval: number, validityDays: number): string | undefined {
  if (!Number.isInteger(interval)) return `must be a whole number of days (got ${interval})`;
  if (interval < 0) return `must be 0 (disabled) or a positive number of days (got ${interval})`;
  const max = validityDays - MIN_DAYS_AFTER_INTERVAL;
  if (interval > 0 && interval >= max) {
    return `must be less than ${max} days (got ${interval}): certificates are valid ${validityDays} days and would expire before the next renewal`;
  }
  return undefined;
}

/** Throws CONFIG when the interval is not valid (see intervalProblem). `source` names the flag or file. */
export function checkInterval(p: DuePolicy, source: string): void {
  const problem = intervalProblem(p.certificateRenewInterval, p.validityDays);
  if (problem) throw new RenewCertsError("CONFIG", `${source}: certificate-renew-interval ${problem}`, { file: source });
}

/**
 * Decides whether `run` renews at `now`. Due when any certificate is at least the interval old
 * (age from policy/age.ts, right for kubeadm before v1.31), expires within the safety margin, or
 * has expired. Pure.
 */
export function decideDue(certs: readonly CertWindow[], p: DuePolicy, now: Date): DueDecision {
  const ages = certs.map((c) => ({
    c,
    issued: issuedAt(c.notBefore, c.notAfter, now, c.caNotBefore),
    age: ageSeconds(c.notBefore, c.notAfter, now, c.caNotBefore),
  }));
  const top = ages.reduce<(typeof ages)[number] | undefined>((a, b) => (a === undefined || b.age > a.age ? b : a), undefined);
  const oldest = top && { name: top.c.name, ageDays: Math.floor(top.age / 86_400), ageSeconds: top.age, issuedAt: top.issued };
  if (p.certificateRenewInterval === 0) return { due: false, disabled: true, reasons: [], oldest, dueDate: undefined };
  const intervalMs = p.certificateRenewInterval * DAY_MS;
  const marginMs = p.safetyMarginDays * DAY_MS;
  const reasons: DueReason[] = [];
  let dueDate: Date | undefined;
  for (const { c, issued, age } of ages) {
    const left = c.notAfter.getTime() - now.getTime();
    const days = (ms: number): number => Math.floor(ms / DAY_MS);
    if (left <= 0) reasons.push({ name: c.name, kind: "expired", text: `${c.name} expired ${days(-left)} days ago (${c.notAfter.toISOString()})` });
    else if (left <= marginMs) reasons.push({ name: c.name, kind: "expires-within-margin", text: `${c.name} expires in ${days(left)} days, within the safety margin of ${p.safetyMarginDays} days` });
    else if (age * 1000 >= intervalMs) reasons.push({ name: c.name, kind: "older-than-interval", text: `${c.name} is ${Math.floor(age / 86_400)} days old, the interval is ${p.certificateRenewInterval} days` });
    const at = Math.min(issued.getTime() + intervalMs, c.notAfter.getTime() - marginMs);
    if (dueDate === undefined || at < dueDate.getTime()) dueDate = new Date(at);
  }
  return { due: reasons.length > 0, disabled: false, reasons, oldest, dueDate };
}

/** The renewable certificates of an inventory (present, not externally managed). */
export function renewableWindows(inv: Inventory): CertWindow[] {
  return inv.leaves
    .filter((l) => !l.missing && !l.externallyManaged && l.cert)
    .map((l) => ({ name: l.spec.name, notBefore: l.cert!.notBefore, notAfter: l.cert!.notAfter, caNotBefore: l.ca.cert?.notBefore }));
}

/** The one log line of a run that does not renew: disabled, or not due with the oldest certificate and the due date. */
export function notDueMessage(d: DueDecision, p: DuePolicy): string {
  if (d.disabled) return "certificate renewal is disabled (certificate-renew-interval is 0): nothing to do";
  if (!d.oldest || !d.dueDate) return "no renewable certificates found: nothing to do";
  return `not due: the oldest certificate, ${d.oldest.name}, is ${d.oldest.ageDays} days old; the interval is ${p.certificateRenewInterval} days; renewal is due on ${d.dueDate.toISOString().slice(0, 10)}`;
}

/**
 * What `run` would do now, as one clause for `status` ("renew-certs run would …"): "renew 11
 * certificates now (11 at least 60 days old; oldest: admin.conf, 300 days)", "do nothing yet: the
 * oldest certificate, …" or "do nothing: …". `renewable` is how many certificates a run renews
 * (all renewable ones, not only those that made it due). Pure.
 */
export function wouldRunSummary(d: DueDecision, p: DuePolicy, renewable: number): string {
  if (d.disabled) return "do nothing: renewal is disabled (certificateRenewInterval is 0)";
  if (!d.oldest || !d.dueDate) return "do nothing: no renewable certificates found";
  if (!d.due) return notDueMessage(d, p).replace(/^not due: /, "do nothing yet: ");
  const count = (kind: DueReason["kind"]): number => d.reasons.filter((r) => r.kind === kind).length;
  const why = [
    count("expired") > 0 ? `${count("expired")} expired` : "",
    count("expires-within-margin") > 0 ? `${count("expires-within-margin")} expire within ${p.safetyMarginDays} days` : "",
    count("older-than-interval") > 0 ? `${count("older-than-interval")} at least ${p.certificateRenewInterval} days old` : "",
  ].filter(Boolean);
  return `renew ${renewable} certificate${renewable === 1 ? "" : "s"} now (${why.join(", ")}; oldest: ${d.oldest.name}, ${d.oldest.ageDays} days)`;
}

/** One line saying why a run is due, grouping the certificates by reason. */
export function dueSummary(d: DueDecision, p: DuePolicy): string {
  const by = (kind: DueReason["kind"]): string[] => d.reasons.filter((r) => r.kind === kind).map((r) => r.name);
  const parts: string[] = [];
  const expired = by("expired");
  const margin = by("expires-within-margin");
  const old = by("older-than-interval");
  const list = (names: string[]): string => (names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`);
  if (expired.length > 0) parts.push(`${expired.length} expired (${list(expired)})`);
  if (margin.length > 0) parts.push(`${margin.length} expire within the safety margin of ${p.safetyMarginDays} days (${list(margin)})`);
  if (old.length > 0) parts.push(`${old.length} at least ${p.certificateRenewInterval} days old (${list(old)}${d.oldest ? `; the oldest, ${d.oldest.name}, is ${d.oldest.ageDays} days old` : ""})`);
  return `due: ${parts.join("; ")}`;
}
