import type { ErrorCode } from "../errors.js";

/**
 * Exit codes, in one place. 0: success (including "not due" and "disabled").
 * Documented in the README's "Exit codes" table; keep the two in step.
 */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  CONFIG: 3,
  INPUT: 4,
  LOCKED: 5,
  RENEW_FAILED: 6,
  ROLLED_BACK: 7,
  ROLLBACK_FAILED: 8,
  LEASE_TIMEOUT: 9,
  DOCTOR_FAIL: 10,
  LEAF_IS_CA: 11,
  UNKNOWN_CRITICAL: 12,
  CA_NOT_VALID: 13,
  BAD_VALIDITY: 14,
  STILL_DOWN: 15,
  KUBELET_DOWN: 16,
} as const;

/** The exit code for an error code. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case "USAGE": return EXIT.USAGE;
    case "CONFIG": return EXIT.CONFIG;
    case "ROOT": case "PEM": case "KUBECONFIG": case "MANIFEST": case "PERMISSION": case "MISMATCH": case "UNSUPPORTED": case "LINK": case "BACKUP": return EXIT.INPUT;
    case "LOCKED": case "INTERRUPTED": return EXIT.LOCKED;
    case "IO": case "RENEW_FAILED": return EXIT.RENEW_FAILED;
    case "ROLLED_BACK": return EXIT.ROLLED_BACK;
    // Unhealthy and not (yet) restored: the same state as a failed rollback.
    case "UNHEALTHY": case "ROLLBACK_FAILED": return EXIT.ROLLBACK_FAILED;
    case "LEASE_TIMEOUT": return EXIT.LEASE_TIMEOUT;
    case "DOCTOR_FAIL": return EXIT.DOCTOR_FAIL;
    case "LEAF_IS_CA": return EXIT.LEAF_IS_CA;
    case "UNKNOWN_CRITICAL": return EXIT.UNKNOWN_CRITICAL;
    case "CA_NOT_VALID": return EXIT.CA_NOT_VALID;
    case "BAD_VALIDITY": return EXIT.BAD_VALIDITY;
    case "STILL_DOWN": return EXIT.STILL_DOWN;
    case "KUBELET_DOWN": return EXIT.KUBELET_DOWN;
    case "INTERNAL": return EXIT.FAILURE;
  }
}
