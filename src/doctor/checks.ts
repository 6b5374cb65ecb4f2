import { join } from "node:path";
import type { Settings } from "../config/settings.js";
import { HOST_PATHS } from "../config/settings.js";
import type { Inventory } from "../inventory/scan.js";
import { CA_ROTATION_URL, LAYOUT } from "../inventory/catalog.js";
import { decideDue, dueSummary, renewableWindows, notDueMessage } from "../policy/due.js";
import { DAY_MS } from "../policy/age.js";
import { manifestsToRestart } from "../manifests/list.js";
import { readManifest } from "../manifests/manifest.js";
import type { TlsProbe } from "./running.js";
import type { SystemdHost } from "../host/systemd.js";
import type { KubeClient } from "../kube/client.js";
import { finding, type Finding } from "./findings.js";
import { describeJob } from "../run/state.js";
import { readRecord } from "../renewal/intent.js";
import { lockHolders } from "../renewal/lock.js";
import type { NodeRuntime } from "../kubelet/runtime.js";

/** Everything the checks look at; effects come in here. */
export interface DoctorContext {
  root: string;
  settings: Settings;
  inv: Inventory;
  now: Date;
  systemd: SystemdHost;
  /** A client of the local API server, or undefined when none can be made. */
  api: KubeClient | undefined;
  /** The certificate served at an endpoint (real default: a TLS handshake of its own). */
  tls?: TlsProbe;
  /** The kubelet and container runtime (default: the host's, or a sandbox's kubelet double). */
  runtime?: NodeRuntime;
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

/** The CAs: their expiry ends the cluster; `renew-certs ca renew` re-signs them with their own keys. */
export function checkCas(c: DoctorContext): Finding[] {
  const margin = c.settings.safetyMarginDays;
  return c.inv.cas.filter((ca) => ca.cert).map((ca) => {
    const ms = ca.cert!.notAfter.getTime() - c.now.getTime();
    const left = days(ms);
    const fix = ca.externallyManaged
      ? `its key is not on this host: whoever keeps it must re-sign it; for a compromised key, rotate it: ${CA_ROTATION_URL}`
      : `renew-certs run re-signs it with its own key and restarts what reads it (kubeadm never renews it); by hand: renew-certs ca renew ${ca.spec.name}, ` +
        `then restart what it prints; for a compromised key, rotate it: ${CA_ROTATION_URL}`;
    return ms <= 0 ? finding(`CA ${ca.spec.name}`, "FAIL", `expired on ${ca.cert!.notAfter.toISOString()}: the certificates it signs cannot be renewed`, fix)
      : left < margin ? finding(`CA ${ca.spec.name}`, "FAIL", `expires in ${left} days, within the safety margin of ${margin} days: the certificates it signs are capped at its expiry`, fix)
      : left < c.settings.caRenewBeforeDays ? finding(`CA ${ca.spec.name}`, "WARN", `expires in ${left} days, within caRenewBeforeDays (${c.settings.caRenewBeforeDays}): not re-signed yet`, fix)
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


/** An unfinished run: where it stopped and what the next run will do (the record is the job's). */
export async function checkInterrupted(c: DoctorContext): Promise<Finding[]> {
  const record = await readRecord(join(c.root, LAYOUT.stateDir)).catch((e: unknown) => e as Error);
  if (record instanceof Error) return [finding("interrupted run", "FAIL", record.message, "renew-certs restore latest, then remove the record it names")];
  const described = record ? describeJob(record) : undefined;
  if (!described) return [];
  const { state, next } = described;
  const running = await lockHolders(join(c.root, LAYOUT.stateDir, "lock"));
  if (running.length > 0) return [finding("run in progress", "OK", `a run (pid ${running.join(", ")}) is in progress: ${state}`)];
  return [finding("interrupted run", "WARN", `the last run stopped while ${state} (recorded in ${join(c.root, LAYOUT.stateDir, "job.json")}); the next run will ${next}`, "renew-certs run (or wait for the timer)")];
}
