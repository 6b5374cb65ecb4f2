// `status --cluster`: every Node's report (annotations.ts) judged against the current CA and its
// deadline, and the nodes that would break at it. Pure: readCluster (cluster-read.ts) gathers the
// inputs.
import { readReport, type ReadReport } from "./annotations.js";
import { sameFingerprint } from "../kube/tls.js";

/** A report older than this is stale (default 2 days: the timer runs daily, with up to an hour's random delay, as RenewCertsNotRunRecently judges). */
export const DEFAULT_STALE_AFTER_DAYS = 2;

/** The CA certificates the view judges by. */
export interface CaFacts {
  current: { fingerprint: string; notAfter: Date; source: string };
  /** The certificate the current one replaced (the CA's record on a control plane), when known. */
  previous?: { fingerprint: string; notAfter: Date };
  /** When everything must trust the current certificate, and where that date comes from. */
  deadline: { at: Date; source: string };
}

/** How a node stands with the current CA. */
export type CaTrust = "current" | "old" | "other" | "unknown";

/** One node of the view. */
export interface NodeRow {
  node: string;
  role: string;
  report: ReadReport | undefined;
  stale: boolean;
  /** "current": every CA it reports is the current one; "old": one is the previous one; "other": one is neither. */
  ca: CaTrust;
  /** Why it would break at the deadline ([] when it would not). */
  risks: string[];
}

/** The whole view. */
export interface ClusterView {
  now: Date;
  ca: CaFacts;
  staleAfterDays: number;
  nodes: NodeRow[];
}

/** A Node as the API returns it (only what the view reads). */
export interface NodeObject {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** How the CA fingerprints a node reports stand with `ca`. Pure. */
export function caTrustOf(r: ReadReport | undefined, ca: CaFacts): CaTrust {
  const prints = [r?.caFingerprint, r?.kubeconfigCaFingerprint].filter((f): f is string => f !== undefined);
  if (prints.length === 0) return "unknown";
  if (prints.every((f) => sameFingerprint(f, ca.current.fingerprint))) return "current";
  return prints.some((f) => sameFingerprint(f, ca.previous?.fingerprint)) ? "old" : "other";
}

/** The view of `nodes` at `now` (see the top of this file). Pure. */
export function clusterView(nodes: NodeObject[], ca: CaFacts, now: Date, staleAfterDays = DEFAULT_STALE_AFTER_DAYS): ClusterView {
  const rows = nodes.map((n): NodeRow => {
    const report = readReport(n.metadata.annotations);
    const labels = n.metadata.labels ?? {};
    const role = report?.role ?? ("node-role.kubernetes.io/control-plane" in labels ? "control-plane" : "worker");
    const stale = report !== undefined && now.getTime() - report.lastRun.getTime() > staleAfterDays * 86_400_000;
    const trust = caTrustOf(report, ca);
    const risks: string[] = [];
    if (!report) risks.push("no report (renew-certs has not run there)");
    else if (stale) risks.push(`stale report (last run ${Math.floor((now.getTime() - report.lastRun.getTime()) / 86_400_000)} days ago)`);
    if (trust === "old") risks.push("trusts the old CA certificate");
    else if (trust === "other") risks.push("trusts a CA certificate that is not the current one");
    else if (report && trust === "unknown") risks.push("reports no CA");
    return { node: n.metadata.name, role, report, stale, ca: trust, risks };
  });
  return { now, ca, staleAfterDays, nodes: rows.sort((a, b) => a.node.localeCompare(b.node)) };
}

/** The nodes that would break at the deadline. Pure. */
export function atRisk(v: ClusterView): NodeRow[] {
  return v.nodes.filter((n) => n.risks.length > 0);
}

const day = (d: Date | undefined): string => (d ? d.toISOString().replace(/:\d\d\.\d{3}Z$/, "Z").replace("T", " ") : "-");
const trustWord: Record<CaTrust, string> = { current: "yes", old: "no (old)", other: "no (other)", unknown: "unknown" };

/** The table of `status --cluster` (times in UTC). Pure. */
export function renderClusterView(v: ClusterView): string {
  const head = ["NODE", "ROLE", "LAST RUN", "RESULT", "OLDEST EXPIRY", "TRUSTS CURRENT CA", "KUBELET CERT EXPIRY"];
  const rows = v.nodes.map((n) => [
    n.node, n.role, n.report ? `${day(n.report.lastRun)}${n.stale ? " (stale)" : ""}` : "never",
    n.report?.exitCode !== undefined ? `exit ${n.report.exitCode}` : "-", day(n.report?.oldest?.notAfter), trustWord[n.ca], day(n.report?.kubeletClientExpiry),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  const risky = atRisk(v);
  const deadline = `CA deadline: ${day(v.ca.deadline.at)} (${v.ca.deadline.source}); current CA ${v.ca.current.fingerprint.slice(0, 23)}… from ${v.ca.current.source}`;
  const verdict = risky.length === 0
    ? `every node trusts the current CA and reported within ${v.staleAfterDays} days: none would break at the deadline`
    : `would break at the deadline (${risky.length} of ${v.nodes.length}):\n${risky.map((n) => `  ${n.node}: ${n.risks.join("; ")}`).join("\n")}`;
  return `${[line(head), ...rows.map(line)].join("\n")}\n\n${deadline}\n${verdict}\n`;
}

/** The JSON of `status --cluster -o json`. Pure. */
export function clusterViewData(v: ClusterView): unknown {
  return {
    now: v.now.toISOString(),
    ca: v.ca,
    staleAfterDays: v.staleAfterDays,
    nodes: v.nodes.map((n) => ({ node: n.node, role: n.role, stale: n.stale, trustsCurrentCa: n.ca === "current", ca: n.ca, report: n.report ?? null, risks: n.risks })),
    atRisk: atRisk(v).map((n) => n.node),
  };
}
