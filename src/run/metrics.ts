import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Inventory } from "../inventory/scan.js";
import { fileError, isErrno } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";

/** The metric names renew-certs exports (node_exporter's textfile collector format). */
export const METRICS = {
  expiry: "renew_certs_certificate_expiry_timestamp_seconds",
  caExpiry: "renew_certs_ca_expiry_timestamp_seconds",
  lastRun: "renew_certs_last_run_timestamp_seconds",
  lastRunSuccess: "renew_certs_last_run_success",
  lastRenewal: "renew_certs_last_renewal_timestamp_seconds",
  lastRunExitCode: "renew_certs_last_run_exit_code",
  caRenewalDue: "renew_certs_ca_renewal_due_timestamp_seconds",
  caDeadline: "renew_certs_ca_deadline_timestamp_seconds",
  clusterOldCaNodes: "renew_certs_cluster_nodes_old_ca",
  clusterCaDeadline: "renew_certs_cluster_ca_deadline_timestamp_seconds",
} as const;

const HELP: Record<string, string> = {
  [METRICS.expiry]: "NotAfter of each kubeadm certificate, in unix seconds.",
  [METRICS.caExpiry]: "NotAfter of each kubeadm CA, in unix seconds: run re-signs it with its own key caRenewBeforeDays before.",
  [METRICS.caRenewalDue]: "When each CA's renewal is due (NotAfter minus caRenewBeforeDays), in unix seconds: past it, the next run re-signs the CA.",
  [METRICS.caDeadline]: "The deadline of each CA's last renewal (the replaced certificate's NotAfter), in unix seconds: " +
    "worker nodes, users' kubeconfigs and pods started before the renewal must trust the new certificate by then.",
  [METRICS.lastRun]: "When renew-certs run last finished, in unix seconds.",
  [METRICS.lastRunSuccess]: "1 when the last renew-certs run succeeded (renewed and healthy, not due, or disabled), else 0.",
  [METRICS.lastRenewal]: "When renew-certs last renewed the certificates, in unix seconds.",
  [METRICS.lastRunExitCode]: "The exit code of the last renew-certs run; its result label says what it means (docs/exit-codes.md).",
  [METRICS.clusterOldCaNodes]: "Nodes whose last report names a CA certificate that is not this control plane's current one (they break at the deadline).",
  [METRICS.clusterCaDeadline]: "When every node must trust the current CA certificate (the old one's NotAfter, or the CA's own), in unix seconds.",
};

/** What one run reports. */
export interface RunMetrics {
  /** Every certificate present on disk, with its CA and NotAfter; `authority` marks the CAs themselves. */
  certificates: { name: string; ca: string; notAfter: Date; authority?: boolean }[];
  /** When the run finished. */
  runAt: Date;
  success: boolean;
  /** When this run renewed; undefined keeps the previous file's value. */
  renewedAt: Date | undefined;
  /** Each CA's renewal due date and, once renewed, its deadline (src/ca/status.ts). */
  cas?: { name: string; renewalDue: Date; deadline?: Date }[];
  /** The run's exit code and what it means ("stopped by SIGTERM; …"), from the exit code table. */
  result?: { exitCode: number; summary: string };
  /** The Nodes on an old CA and the CA deadline, when the run could list the Nodes (src/report/node-report.ts). */
  cluster?: { oldCaNodes: number; deadline: Date };
}

/** One sample of the exposition format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed text exposition: samples, and the HELP and TYPE of each metric. */
export interface Exposition {
  samples: Sample[];
  help: Map<string, string>;
  type: Map<string, string>;
}

const seconds = (d: Date): string => String(d.getTime() / 1000);
const escapeLabel = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The certificates of an inventory for the expiry metrics: every leaf and CA present on disk. */
export function certificateMetrics(inv: Inventory): RunMetrics["certificates"] {
  const leaves = inv.leaves.filter((l) => l.cert).map((l) => ({ name: l.spec.name, ca: l.spec.ca, notAfter: l.cert!.notAfter }));
  return [...leaves, ...inv.cas.filter((c) => c.cert).map((c) => ({ name: c.spec.name, ca: c.spec.name, notAfter: c.cert!.notAfter, authority: true }))];
}

/** Each CA's renewal due date and deadline, as `ca status` shows them. */
export async function caMetrics(root: string, caRenewBeforeDays: number, now: Date): Promise<NonNullable<RunMetrics["cas"]>> {
  const { caStatus } = await import("../ca/status.js");
  return (await caStatus(root, now, caRenewBeforeDays)).map((c) => ({
    name: c.ca, renewalDue: new Date(c.renewalDue), ...(c.deadline ? { deadline: new Date(c.deadline) } : {}),
  }));
}

/** Renders the text file. `previous` is the old file's text: its last renewal time is kept when this run did not renew. Pure. */
export function renderMetrics(m: RunMetrics, previous?: string): string {
  const lines: string[] = [];
  const metric = (name: string, samples: string[]): void => {
    if (samples.length === 0) return;
    lines.push(`# HELP ${name} ${HELP[name]}`, `# TYPE ${name} gauge`, ...samples);
  };
  metric(METRICS.expiry, m.certificates.filter((c) => !c.authority).map((c) => `${METRICS.expiry}{name="${escapeLabel(c.name)}",ca="${escapeLabel(c.ca)}"} ${seconds(c.notAfter)}`));
  metric(METRICS.caExpiry, m.certificates.filter((c) => c.authority).map((c) => `${METRICS.caExpiry}{name="${escapeLabel(c.name)}"} ${seconds(c.notAfter)}`));
  metric(METRICS.caRenewalDue, (m.cas ?? []).map((c) => `${METRICS.caRenewalDue}{name="${escapeLabel(c.name)}"} ${seconds(c.renewalDue)}`));
  metric(METRICS.caDeadline, (m.cas ?? []).flatMap((c) => (c.deadline ? [`${METRICS.caDeadline}{name="${escapeLabel(c.name)}"} ${seconds(c.deadline)}`] : [])));
  metric(METRICS.lastRun, [`${METRICS.lastRun} ${seconds(m.runAt)}`]);
  metric(METRICS.lastRunSuccess, [`${METRICS.lastRunSuccess} ${m.success ? 1 : 0}`]);
  metric(METRICS.lastRunExitCode, m.result ? [`${METRICS.lastRunExitCode}{result="${escapeLabel(m.result.summary)}"} ${m.result.exitCode}`] : []);
  metric(METRICS.clusterOldCaNodes, m.cluster ? [`${METRICS.clusterOldCaNodes} ${m.cluster.oldCaNodes}`] : []);
  metric(METRICS.clusterCaDeadline, m.cluster ? [`${METRICS.clusterCaDeadline} ${seconds(m.cluster.deadline)}`] : []);
  let renewal = m.renewedAt ? seconds(m.renewedAt) : undefined;
  if (renewal === undefined && previous !== undefined) {
    const old = safeParse(previous)?.samples.find((s) => s.name === METRICS.lastRenewal);
    if (old && Number.isFinite(old.value)) renewal = String(old.value);
  }
  metric(METRICS.lastRenewal, renewal === undefined ? [] : [`${METRICS.lastRenewal} ${renewal}`]);
  return lines.join("\n") + "\n";
}

function unescapeLabel(v: string): string {
  return v.replace(/\\(["\\n])/g, (_m, c: string) => (c === "n" ? "\n" : c));
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/** Parses the text exposition format (what renderMetrics writes); throws on a malformed line. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], help: new Map(), type: new Map() };
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)\s+(.*)$/.exec(line);
    if (meta) {
      (meta[1] === "HELP" ? out.help : out.type).set(meta[2]!, meta[3]!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not a sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`line ${i + 1} has malformed labels: ${line}`);
      labels[l[1]!] = unescapeLabel(l[2]!);
    }
    const value = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    if (Number.isNaN(value) && m[4] !== "NaN") throw new Error(`line ${i + 1} has a value that is not a number: ${line}`);
    out.samples.push({ name: m[1]!, labels, value });
  }
  return out;
}

function safeParse(text: string): Exposition | undefined {
  try {
    return parseExposition(text);
  } catch {
    return undefined; // a damaged old file only loses the previous renewal time
  }
}

/**
 * Writes the metrics file (settings.metricsFile under `root`) atomically, mode 0644 so that
 * node_exporter can read it. Returns its path, or undefined when `metricsFile` is "" (disabled).
 */
export async function writeMetrics(root: string, metricsFile: string, m: RunMetrics): Promise<string | undefined> {
  if (metricsFile === "") return undefined;
  const file = join(root, metricsFile);
  let previous: string | undefined;
  try {
    previous = await readFile(file, "utf8");
  } catch (e) {
    if (!isErrno(e, "ENOENT")) throw fileError(e, file, "metrics file");
  }
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fileError(e, dirname(file), "metrics directory");
  }
  await writeFileAtomic(file, renderMetrics(m, previous), { mode: 0o644, what: "metrics file" });
  return file;
}
