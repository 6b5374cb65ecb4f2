/** How bad a finding is. */
/** SKIP: the check cannot run here (no systemd, or --root is not /); it neither passes nor fails. */
export type Severity = "OK" | "SKIP" | "WARN" | "FAIL";

/** One finding of `doctor`: what was checked, what was found, and the command that fixes it. */
export interface Finding {
  check: string;
  severity: Severity;
  detail: string;
  /** The command (or action) that fixes it; empty when OK. */
  fix: string;
}

/** A finding, built tersely. */
export function finding(check: string, severity: Severity, detail: string, fix = ""): Finding {
  return { check, severity, detail, fix };
}

/** The worst severity of a list (OK when empty). */
export function worst(fs: readonly Finding[]): Severity {
  return fs.some((f) => f.severity === "FAIL") ? "FAIL" : fs.some((f) => f.severity === "WARN") ? "WARN" : "OK";
}
