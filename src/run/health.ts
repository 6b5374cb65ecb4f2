// Transport and credentials live in src/kube; re-exported for the modules that still import them from here.
export { servedFingerprint, httpsGet, sameFingerprint, REQUEST_TIMEOUT_MS } from "../kube/tls.js";
export { credentialsFromKubeconfig, type ClientCredentials } from "../kube/credentials.js";

/** The answer of one health probe. */
export interface HealthResult {
  healthy: boolean;
  /** What was seen, for people ("serves the old certificate", "/livez answered 500"). */
  detail: string;
  /** SHA-256 fingerprint of the served certificate, when a TLS connection was made. */
  fingerprint?: string;
}

/** One health probe; it never throws (a failure is an unhealthy result). */
export type HealthCheck = () => Promise<HealthResult>;
