import { join } from "node:path";
import type { Settings } from "../config/settings.js";
import { HOST_PATHS } from "../config/settings.js";
import type { Inventory } from "../inventory/scan.js";
import { CA_ROTATION_URL, LAYOUT } from "../inventory/catalog.js";
import { decideDue, dueSummary, renewableWindows, notDueMessage } from "../policy/due.js";
import { DAY_MS } from "../policy/age.js";
import { manifestsToRestart } from "../manifests/list.js";
import { readManifest, formatEndpoint } from "../manifests/manifest.js";
import { servedFingerprint } from "../run/health.js";
import type { SystemdHost } from "../host/systemd.js";
import { exists } from "../util/fs.js";
import type { KubeClient } from "../coordination/kube-client.js";
import { finding, type Finding } from "./findings.js";

/** Everything the checks look at; effects come in here. */
export interface DoctorContext {
  root: string;
  settings: Settings;
  inv: Inventory;
  now: Date;
  systemd: SystemdHost;
  /** A client of the local API server, or undefined when none can be made. */
  api: KubeClient | undefined;
  /** The fingerprint served at the API server's endpoint (real default: a TLS handshake). */
  served?: typeof servedFingerprint;
}

const days = (ms: number): number => Math.floor(ms / DAY_MS);

/** Certificate ages against the interval, and expiry. */
export function checkCertificates(c: DoctorContext): Finding[] {
  const d = decideDue(renewableWindows(c.inv), c.settings, c.now);
  if (d.disabled) return [finding("certificate ages", "WARN", "renewal is disabled (certificateRenewInterval: 0)", `set certificateRenewInterval in ${HOST_PATHS.configFile}`)];
  const expired = d.reasons.filter((r) => r.kind === "expired");
  if (expired.length > 0) return [finding("certificate ages", "FAIL", expired.map((r) => r.text).join("; "), "renew-certs run (or renew-certs renew all, then restart the control plane)")];
  if (d.due) return [finding("certificate ages", "WARN", dueSummary(d, c.settings).replace(/^due: /, "due now: "), "renew-certs run (the timer does it at its next run)")];
  return [finding("certificate ages", "OK", notDueMessage(d, c.settings).replace(/^not due: /, ""))];
}

/** The CAs: renew-certs never renews them; their expiry ends the cluster. */
export function checkCas(c: DoctorContext): Finding[] {
  const margin = c.settings.safetyMarginDays;
  return c.inv.cas.filter((ca) => ca.cert).map((ca) => {
    const ms = ca.cert!.notAfter.getTime() - c.now.getTime();
    const left = days(ms);
    const fix = `rotate the CA by hand (renew-certs and kubeadm never renew it): ${CA_ROTATION_URL}`;
    return ms <= 0 ? finding(`CA ${ca.spec.name}`, "FAIL", `expired on ${ca.cert!.notAfter.toISOString()}: the certificates it signs cannot be renewed`, fix)
      : left < margin ? finding(`CA ${ca.spec.name}`, "FAIL", `expires in ${left} days, within the safety margin of ${margin} days: the certificates it signs are capped at its expiry`, fix)
      : left < 365 ? finding(`CA ${ca.spec.name}`, "WARN", `expires in ${left} days: leaves are capped at its expiry`, fix)
      : finding(`CA ${ca.spec.name}`, "OK", `${left} days left`);
  });
}

/** Manifests annotated, and each mirror pod's annotation equal to its manifest's. */
export async function checkAnnotations(c: DoctorContext): Promise<Finding[]> {
  const key = c.settings.annotationKey;
  const out: Finding[] = [];
  const { present } = await manifestsToRestart(c.root, c.settings.manifests);
  for (const ref of present) {
    const m = await readManifest(ref.file);
    const value = m.annotations[key];
    if (!value) {
      out.push(finding(`${ref.component} annotated`, "WARN", `${ref.file} has no ${key}: renew-certs has not restarted it yet`, "nothing, until the first renewal (renew-certs run)"));
      continue;
    }
    out.push(finding(`${ref.component} annotated`, "OK", `${key}: "${value}" (${new Date(Number(value) * 1000).toISOString()})`));
    if (!c.api) continue;
    const pod = `${ref.component}-${c.settings.nodeName}`;
    try {
      const p = await c.api.get<{ metadata?: { annotations?: Record<string, string> } }>(`/api/v1/namespaces/kube-system/pods/${pod}`);
      const mirror = p.metadata?.annotations?.[key];
      out.push(mirror === value
        ? finding(`${pod} mirror pod`, "OK", `runs the annotated manifest (${key}: "${value}")`)
        : finding(`${pod} mirror pod`, "FAIL", `annotation is ${mirror === undefined ? "missing" : `"${mirror}"`}, the manifest's is "${value}": the kubelet has not restarted it`, "journalctl -u kubelet; crictl ps --name " + ref.component));
    } catch (e) {
      out.push(finding(`${pod} mirror pod`, "WARN", `could not read it through the API: ${(e as Error).message}`, `kubectl get pod -n kube-system ${pod} -o yaml`));
    }
  }
  if (!c.api && present.length > 0) out.push(finding("mirror pods", "WARN", "the API server is not reachable with admin.conf: mirror pods not compared", "kubectl --kubeconfig /etc/kubernetes/admin.conf get pods -n kube-system"));
  return out;
}

/** The API server serves the certificate on disk (else it still runs on the old one). */
export async function checkServed(c: DoctorContext): Promise<Finding[]> {
  const file = join(c.root, LAYOUT.manifestsDir, "kube-apiserver.yaml");
  const leaf = c.inv.leaves.find((l) => l.spec.name === "apiserver");
  if (!leaf?.cert || !(await exists(file))) return [];
  const endpoint = (await readManifest(file)).advertiseEndpoint;
  try {
    const served = await (c.served ?? servedFingerprint)(endpoint, 3000);
    return served === leaf.cert.x509.fingerprint256
      ? [finding("served certificate", "OK", `${formatEndpoint(endpoint)} serves ${leaf.certFile}`)]
      : [finding("served certificate", "FAIL", `${formatEndpoint(endpoint)} serves another certificate than ${leaf.certFile}: kube-apiserver has not been restarted since the renewal`, "renew-certs run (it restarts when a renewal is pending), or restart kube-apiserver")];
  } catch (e) {
    return [finding("served certificate", "WARN", `${formatEndpoint(endpoint)}: ${(e as Error).message}`, "crictl ps --name kube-apiserver; journalctl -u kubelet")];
  }
}
