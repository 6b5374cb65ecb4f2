import type { StatusReport } from "../inventory/status.js";

/** Options for rendering a table: colour and bars only on a terminal. */
export interface TableStyle {
  color: boolean;
  bars: boolean;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A date the way kubeadm prints it: "Jan 02, 2006 15:04 UTC". */
export function kubeadmDate(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())}, ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

/** A duration in seconds, short and human, as Kubernetes' ShortHumanDuration prints it. */
export function shortDuration(seconds: number): string {
  if (seconds < 0) return "expired";
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  // Whole days are rounded: a certificate issued seconds ago for 365 days reads "365d", not "364d".
  if (hours < 24 * 365 * 2) return `${Math.round(seconds / 86_400)}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

const ESC = "\u001b[";
function paint(text: string, code: number, on: boolean): string {
  return on ? `${ESC}${code}m${text}${ESC}0m` : text;
}

/** A 10-cell bar showing how much of a lifetime is left, coloured by urgency. */
export function lifetimeBar(left: number, color: boolean): string {
  const cells = Math.round(Math.min(1, Math.max(0, left)) * 10);
  const bar = "█".repeat(cells) + "░".repeat(10 - cells);
  const code = left > 0.25 ? 32 : left > 0.08 ? 33 : 31;
  return paint(bar, code, color);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ""))));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - visibleLength(c) + 3))).join("").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, "").length;
}

/** The `status` table: kubeadm's check-expiration layout plus AGE (and a bar on a terminal). */
export function renderStatusTable(r: StatusReport, style: TableStyle): string {
  const yesNo = (b: boolean): string => (b ? "yes" : "no");
  const header = ["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "AGE", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED"];
  if (style.bars) header.push("LIFETIME LEFT");
  const rows = r.certificates.map((c) => {
    if (c.missing) return [`!MISSING! ${c.name}`, "", "", "", c.caName, yesNo(c.externallyManaged)];
    const row = [c.name, kubeadmDate(c.expirationDate), shortDuration(c.residualTime), shortDuration(c.age), c.caName, yesNo(c.externallyManaged)];
    if (style.bars) row.push(lifetimeBar(c.lifetimeLeft, style.color));
    return row;
  });
  const k = r.kubelet;
  if (k && !k.missing && k.expirationDate) {
    // Its own row: renewable (yes under EXTERNALLY MANAGED reads "no") only when expired or about to be.
    const row = ["kubelet client", kubeadmDate(k.expirationDate), shortDuration(k.residualTime), shortDuration(k.age ?? 0), "ca", "no"];
    if (style.bars) row.push(lifetimeBar(Math.max(0, Math.min(1, k.residualTime / (365 * 86_400))), style.color));
    rows.push(row);
  }
  const caHeader = ["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "AGE", "EXTERNALLY MANAGED"];
  if (style.bars) caHeader.push("LIFETIME LEFT");
  const caRows = r.certificateAuthorities.map((c) => {
    if (c.missing) return [`!MISSING! ${c.name}`, "", "", "", yesNo(c.externallyManaged)];
    const row = [c.name, kubeadmDate(c.expirationDate), shortDuration(c.residualTime), shortDuration(c.age), yesNo(c.externallyManaged)];
    if (style.bars) row.push(lifetimeBar(c.lifetimeLeft, style.color));
    return row;
  });
  const parts = [table(header, rows), "", table(caHeader, caRows)];
  if (r.kubelet && !r.kubelet.missing) {
    const what = r.kubelet.renewable ? `renewable now: renew-certs run re-issues it (${r.kubelet.embedded ? "into kubelet.conf" : "the kubelet cannot rotate an expired one"}) and restarts the kubelet`
      : "renewed by renew-certs only once it has expired or expires within the safety margin";
    parts.push("", `kubelet.conf: ${r.kubelet.embedded ? "embedded client certificate" : "client certificate rotated by the kubelet"}${r.kubelet.expirationDate ? `, expires ${kubeadmDate(r.kubelet.expirationDate)} (${shortDuration(r.kubelet.residualTime)})` : ""}; ${what}`);
  }
  for (const w of r.warnings) parts.push(paint(`WARNING: ${w}`, 33, style.color));
  return parts.join("\n") + "\n";
}

/** Renders any report as JSON or YAML. */
export async function renderData(value: unknown, format: "json" | "yaml"): Promise<string> {
  // The yaml library is loaded only for -o yaml.
  return format === "json" ? JSON.stringify(value, null, 2) + "\n" : (await import("yaml")).stringify(value, { lineWidth: 0 });
}
