// Exit codes, in ONE table: each exit code's name, number, the error codes that end with it, what
// it means in a few words (run --help, doctor, the metrics file) and in full (docs/exit-codes.md,
// checked against this table by exit-codes.test.ts). A new exit code is one row; the type checker
// refuses an error code (errors.ts) that no row maps.
import type { ErrorCode } from "../errors.js";

/** One exit code. */
export interface ExitRow {
  code: number;
  /** The error codes (errors.ts) that end a command with this exit code. */
  errors: readonly ErrorCode[];
  /** What it means, in a few words: run --help, doctor's "last run", the metrics file. */
  summary: string;
  /** What it means in full, as docs/exit-codes.md says it (Markdown). */
  doc: string;
  /** `run` never exits with it (only another command does). */
  notRun?: true;
}

/** Every exit code of renew-certs (see the top of this file). 0: success, including "not due" and "disabled". */
export const EXIT_TABLE = {
  OK: { code: 0, errors: [], summary: "succeeded", doc: "success" },
  FAILURE: { code: 1, errors: ["INTERNAL"], summary: "unexpected failure", doc: "unexpected failure (a bug: run again with `--verbose` and report it)" },
  USAGE: { code: 2, errors: ["USAGE"], summary: "bad command line", doc: "bad command line" },
  CONFIG: { code: 3, errors: ["CONFIG"], summary: "bad configuration", doc: "bad configuration (config file or flag value)" },
  INPUT: {
    code: 4, errors: ["ROOT", "PEM", "KUBECONFIG", "MANIFEST", "PERMISSION", "MISMATCH", "UNSUPPORTED", "LINK", "BACKUP", "CA_NOT_RENEWABLE", "UNTRUSTED_CA"], summary: "bad input on disk",
    doc: "bad input on disk: missing root, unparseable certificate, key or kubeconfig, a key that does not match, no permission, an immutable or append-only file, a read-only file system, a symbolic link that leads nowhere or outside `--root`, a backup naming a path outside `--root`; on a worker node, a CA certificate from the cluster (or an API server) that is not of the CA key the node trusts (refused, nothing written)",
  },
  LOCKED: {
    code: 5, errors: ["LOCKED", "INTERRUPTED"], summary: "another renew-certs run held the lock",
    doc: "another renew-certs run holds the lock (`renew`: a run that was interrupted is not finished yet: `renew-certs run` finishes it)",
  },
  RENEW_FAILED: {
    code: 6, errors: ["IO", "RENEW_FAILED", "NO_CLUSTER_CA"], summary: "renewal failed; nothing was changed",
    doc: "renewal failed; nothing was changed (not enough free space or inodes; install/uninstall: a systemctl command or a file write failed; on a worker node, the cluster's CA certificate could not be fetched while the node's own expires within `caRenewBeforeDays` or has expired)",
  },
  ROLLED_BACK: {
    code: 7, errors: ["ROLLED_BACK"], summary: "the control plane did not come back healthy; the previous files were restored",
    doc: "the control plane (on a worker node: the kubelet, after its CA certificate was updated) did not come back healthy; the previous files were restored",
  },
  // Unhealthy and not (yet) restored: the same state as a failed rollback.
  ROLLBACK_FAILED: {
    code: 8, errors: ["UNHEALTHY", "ROLLBACK_FAILED"], summary: "the control plane did not come back healthy and restoring the previous files failed",
    doc: "the control plane did not come back healthy and restoring the previous files failed (or a renewal's write failed and putting the previous files back failed too: the next run restores them)",
  },
  LEASE_TIMEOUT: {
    code: 9, errors: ["LEASE_TIMEOUT"], summary: "another host kept the restart lease, or the other API servers were unhealthy",
    doc: "another host kept the restart lease, the other API servers were unhealthy, or the lease was lost between two restarts (the next run resumes)",
  },
  DOCTOR_FAIL: { code: 10, errors: ["DOCTOR_FAIL"], summary: "doctor found a failure", doc: "`doctor` found a failure", notRun: true },
  LEAF_IS_CA: {
    code: 11, errors: ["LEAF_IS_CA"], summary: "a certificate where a leaf belongs is a CA; nothing was changed",
    doc: "a certificate kubeadm keeps as a leaf (or a kubeconfig's client certificate) is a CA: not re-issued; nothing was changed",
  },
  UNKNOWN_CRITICAL: {
    code: 12, errors: ["UNKNOWN_CRITICAL"], summary: "a certificate carries a critical extension renew-certs does not keep; nothing was changed",
    doc: "a leaf carries a critical extension renew-certs does not carry over: not re-issued; nothing was changed",
  },
  CA_NOT_VALID: {
    code: 13, errors: ["CA_NOT_VALID"], summary: "a CA has expired or is not yet valid; nothing was changed",
    doc: "a CA has expired or is not yet valid: its certificates cannot be renewed; nothing was changed",
  },
  BAD_VALIDITY: {
    code: 14, errors: ["BAD_VALIDITY"], summary: "a renewed certificate would not be valid for a moment; nothing was changed",
    doc: "a certificate would have been written with NotBefore not before NotAfter; nothing was changed",
  },
  STILL_DOWN: {
    code: 15, errors: ["STILL_DOWN"], summary: "a component is still down on the renewed certificates; the previous ones had expired, so they were kept, and the next run tries again",
    doc: "a component is still down on the renewed certificates; the previous ones had expired (or expire within the safety margin), so they were kept, and the next run tries again (on a worker node: the kubelet is not back on the new CA certificate, and the previous one has expired)",
  },
  KUBELET_DOWN: {
    code: 16, errors: ["KUBELET_DOWN"], summary: "the kubelet is not running: nothing could restart the control plane; nothing was written",
    doc: "the kubelet is not running: nothing could restart the control plane on renewed certificates; nothing was written (start it: `systemctl start kubelet`, then run again)",
  },
  TERMINATED: {
    code: 17, errors: ["TERMINATED"], summary: "stopped by SIGTERM; the next run resumes where it stopped",
    doc: "stopped by SIGTERM (`systemctl stop renew-certs`, a shutdown, or `TimeoutStartSec`): the run logged at warning the state it was in and what the next run does, released the lock and the Lease, and left no temporary file; the next run resumes where it stopped (or starts afresh when nothing was written yet)",
  },
  // A finding of `status --cluster`, for a cron or CI job to alert on; no error ends with it.
  NODES_AT_RISK: {
    code: 20, errors: [], summary: "status --cluster: a node would break at the CA deadline (no report, a stale report, or an old CA)",
    doc: "`status --cluster`: at least one node would break at the CA deadline: it has no report, a stale one, or trusts a CA certificate that is not the current one (the table and `atRisk` name each node and why)",
    notRun: true,
  },
  CLUSTER_UNREADABLE: {
    code: 21, errors: ["CLUSTER_UNREADABLE"], summary: "status --cluster could not read the Nodes",
    doc: "`status --cluster` could not read the Nodes: the API server did not answer, or refused the kubeconfig's credentials (the error names the server and what it said); nothing is known of the nodes",
    notRun: true,
  },
} as const satisfies Record<string, ExitRow>;

/** The name of an exit code (OK, USAGE, …, TERMINATED). */
export type ExitName = keyof typeof EXIT_TABLE;

// Every error code has its exit code: this line stops compiling when one is in no row.
type Mapped = (typeof EXIT_TABLE)[ExitName]["errors"][number];
const everyErrorMapped: [ErrorCode] extends [Mapped] ? true : never = true;
void everyErrorMapped;

/** The exit codes by name (EXIT.ROLLED_BACK is 7), from the table. */
export const EXIT = Object.fromEntries(Object.entries(EXIT_TABLE).map(([name, row]) => [name, row.code])) as { readonly [N in ExitName]: (typeof EXIT_TABLE)[N]["code"] };

/** The rows in the order of their codes. */
export const EXIT_ROWS: readonly (ExitRow & { name: ExitName })[] = Object.entries(EXIT_TABLE).map(([name, row]) => ({ ...row, name: name as ExitName })).sort((a, b) => a.code - b.code);

const BY_ERROR = new Map<ErrorCode, number>(EXIT_ROWS.flatMap((r) => r.errors.map((e) => [e, r.code] as const)));

/** The exit code for an error code. */
export function exitCodeFor(code: ErrorCode): number {
  return BY_ERROR.get(code) ?? EXIT.FAILURE;
}

/** The row of an exit code, if it is one of renew-certs'. */
export function exitRow(code: number): (ExitRow & { name: ExitName }) | undefined {
  return EXIT_ROWS.find((r) => r.code === code);
}

/** "exit 17 (stopped by SIGTERM; …)": an exit code for people (doctor). */
export function describeExit(code: number): string {
  const row = exitRow(code);
  return `exit ${code}${row ? ` (${row.summary})` : ""}`;
}

/** Words of `text` wrapped to lines of at most `width` characters, each after `indent`. Pure. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l));
}

/** run --help's "Exit codes:" section, from the table: every code `run` exits with and its summary. Pure. */
export function renderRunExitCodes(): string {
  const rows = EXIT_ROWS.filter((r) => !r.notRun).map((r) => `  ${String(r.code).padStart(2)}  ${wrap(r.summary, 72, "      ").join("\n")}`);
  return `Exit codes:\n${rows.join("\n")}\nThe full table: docs/exit-codes.md.\n`;
}
