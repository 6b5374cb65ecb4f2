// What a host reports about its last run on its own Node object: one annotation per fact, under
// one prefix, so that `kubectl describe node` shows it and `status --cluster` reads it back. The
// values are public facts only (times, exit codes, SHA-256 fingerprints of CA certificates): never
// a key, a token, or a certificate's PEM.
import { describeExit } from "../cli/exit-codes.js";

/** The prefix of every annotation renew-certs writes on a Node (the restart annotation's domain, konvoy.d2iq.io). */
export const REPORT_PREFIX = "renew-certs.konvoy.d2iq.io/";

/** The annotation keys, each under REPORT_PREFIX (docs/cluster-view.md says what each holds). */
export const REPORT_KEYS = {
  version: `${REPORT_PREFIX}version`,
  role: `${REPORT_PREFIX}role`,
  lastRun: `${REPORT_PREFIX}last-run`,
  result: `${REPORT_PREFIX}result`,
  oldestExpiry: `${REPORT_PREFIX}oldest-expiry`,
  oldestCertificate: `${REPORT_PREFIX}oldest-certificate`,
  caFingerprint: `${REPORT_PREFIX}ca-fingerprint`,
  kubeconfigCaFingerprint: `${REPORT_PREFIX}kubeconfig-ca-fingerprint`,
  kubeletClientExpiry: `${REPORT_PREFIX}kubelet-client-expiry`,
} as const;

/** Which job the host ran: the control-plane one or the worker one. */
export type NodeRole = "control-plane" | "worker";

/** What one host reports (see REPORT_KEYS). */
export interface NodeReport {
  version: string;
  role: NodeRole;
  /** When the run ended. */
  lastRun: Date;
  /** The run's exit code (docs/exit-codes.md). */
  exitCode: number;
  /** The leaf that expires first on the host (kubeconfigs and the kubelet's client certificate included). */
  oldest?: { name: string; notAfter: Date };
  /** SHA-256 fingerprint ("AB:CD:…") of the first certificate of pki/ca.crt: the CA the kubelet trusts for clients. */
  caFingerprint?: string;
  /** The same, of kubelet.conf's certificate-authority-data: the CA the kubelet trusts for the API server. */
  kubeconfigCaFingerprint?: string;
  /** NotAfter of var/lib/kubelet/pki/kubelet-client-current.pem. */
  kubeletClientExpiry?: Date;
}

/** RFC 3339 in UTC, to the second ("2026-12-07T21:00:00Z"). Pure. */
export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * The annotations of a report, as a merge patch: a fact the host does not have now is null, so
 * that an old value of it is removed rather than left to mislead. Pure.
 */
export function reportAnnotations(r: NodeReport): Record<string, string | null> {
  return {
    [REPORT_KEYS.version]: r.version,
    [REPORT_KEYS.role]: r.role,
    [REPORT_KEYS.lastRun]: rfc3339(r.lastRun),
    [REPORT_KEYS.result]: describeExit(r.exitCode),
    [REPORT_KEYS.oldestExpiry]: r.oldest ? rfc3339(r.oldest.notAfter) : null,
    [REPORT_KEYS.oldestCertificate]: r.oldest?.name ?? null,
    [REPORT_KEYS.caFingerprint]: r.caFingerprint ?? null,
    [REPORT_KEYS.kubeconfigCaFingerprint]: r.kubeconfigCaFingerprint ?? null,
    [REPORT_KEYS.kubeletClientExpiry]: r.kubeletClientExpiry ? rfc3339(r.kubeletClientExpiry) : null,
  };
}

/** A report read back from a Node's annotations: what could be parsed of it, and the result's text. */
export interface ReadReport extends Partial<Omit<NodeReport, "role" | "lastRun">> {
  lastRun: Date;
  role?: string;
  result?: string;
}

/** The report in a Node's annotations, or undefined when it has none (no last-run). Pure. */
export function readReport(annotations: Record<string, string> | undefined): ReadReport | undefined {
  const a = annotations ?? {};
  const date = (k: string): Date | undefined => {
    const t = a[k] === undefined ? NaN : Date.parse(a[k]);
    return Number.isNaN(t) ? undefined : new Date(t);
  };
  const lastRun = date(REPORT_KEYS.lastRun);
  if (!lastRun) return undefined;
  const result = a[REPORT_KEYS.result];
  const code = result === undefined ? undefined : /^exit (\d+)/.exec(result)?.[1];
  const oldest = date(REPORT_KEYS.oldestExpiry);
  const kubelet = date(REPORT_KEYS.kubeletClientExpiry);
  const put = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]: V }));
  return {
    lastRun,
    ...put("version", a[REPORT_KEYS.version]),
    ...put("role", a[REPORT_KEYS.role]),
    ...put("result", result),
    ...put("exitCode", code === undefined ? undefined : Number(code)),
    ...put("oldest", oldest ? { name: a[REPORT_KEYS.oldestCertificate] ?? "", notAfter: oldest } : undefined),
    ...put("caFingerprint", a[REPORT_KEYS.caFingerprint]),
    ...put("kubeconfigCaFingerprint", a[REPORT_KEYS.kubeconfigCaFingerprint]),
    ...put("kubeletClientExpiry", kubelet),
  };
}
