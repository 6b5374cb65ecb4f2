// The outage renew-certs exists for, recognised from what the host shows: nothing answers on the API
// server's port, certificates have expired (the leaves, or the kubelet's own client certificate), and
// the kubelet's log says it cannot replace a static pod ("skipping delete because sources aren't
// ready yet": it has not reached the API server since it started). One finding, with the one command
// that fixes it: `renew-certs run` while certificates on disk are expired (it renews them, re-issues
// the kubelet's, restarts the kubelet and proves every component); `systemctl restart kubelet` when
// the files are renewed and only the kubelet is stuck.
import { join } from "node:path";
import { LAYOUT } from "../inventory/catalog.js";
import { readManifest, formatEndpoint } from "../manifests/manifest.js";
import { exists } from "../util/fs.js";
import { decideDue, renewableWindows } from "../policy/due.js";
import { nodeRuntimeOf } from "../kubelet/runtime.js";
import { SOURCES_NOT_READY } from "../run/fallback.js";
import { readRunRecord } from "../run/state.js";
import { realTls } from "./running.js";
import type { DoctorContext } from "./checks.js";
import { finding, type Finding } from "./findings.js";

/** Whether the kubelet's log shows it stuck since its last start (pure): the lines that say so. */
export function stuckLines(log: readonly string[]): string[] {
  let start = -1;
  log.forEach((l, i) => { if (/Start(ing|ed) kubelet/.test(l)) start = i; });
  return log.slice(start + 1).filter((l) => l.includes(SOURCES_NOT_READY));
}

/**
 * Whether the kubelet runs (its healthz): nothing restarts a static pod without it, and `run`
 * refuses to start (exit 16) unless it re-issues the kubelet's expired client certificate. No
 * finding where renew-certs cannot tell (a --root without a kubelet it can reach).
 */
export async function checkKubelet(c: DoctorContext): Promise<Finding[]> {
  const h = await (c.runtime ?? nodeRuntimeOf(c.root)).kubeletHealth();
  if (h.state === "unknown") return [];
  if (h.state === "running") return [finding("kubelet", "OK", `runs (${h.detail})`)];
  const cert = c.inv.kubelet.cert;
  if (cert && cert.notAfter.getTime() <= c.now.getTime()) {
    return [finding("kubelet", "FAIL", `not running (${h.detail}); its client certificate expired on ${cert.notAfter.toISOString()}: renew-certs run re-issues it and restarts the kubelet`, "renew-certs run")];
  }
  return [finding("kubelet", "FAIL", `not running (${h.detail}): nothing restarts the control plane's static pods, and renew-certs run refuses to start (exit 16)`, "systemctl start kubelet")];
}

/** One finding when the control plane is down in the way an expiry leaves it; none otherwise. */
export async function checkRecovery(c: DoctorContext): Promise<Finding[]> {
  const manifest = join(c.root, LAYOUT.manifestsDir, "kube-apiserver.yaml");
  if (!(await exists(manifest))) return [];
  const m = await readManifest(manifest).catch(() => undefined);
  if (!m) return [];
  const answers = await (c.tls ?? realTls)(m.advertiseEndpoint);
  if (answers) return [];
  const expired = decideDue(renewableWindows(c.inv), c.settings, c.now).reasons.filter((r) => r.kind === "expired").map((r) => r.name);
  const kubeletCert = c.inv.kubelet.cert;
  const kubeletExpired = kubeletCert && kubeletCert.notAfter.getTime() <= c.now.getTime();
  const runtime = c.runtime ?? nodeRuntimeOf(c.root);
  const stuck = stuckLines(await runtime.kubeletLog(c.now.getTime() - 24 * 3_600_000).catch(() => []));
  const record = await readRunRecord(join(c.root, LAYOUT.stateDir)).catch(() => undefined);
  const facts = [
    `nothing answers at ${formatEndpoint(m.advertiseEndpoint)} (kube-apiserver is down)`,
    ...(expired.length > 0 ? [`${expired.length} certificate(s) expired (${expired.slice(0, 3).join(", ")}${expired.length > 3 ? ", …" : ""})`] : []),
    ...(kubeletExpired ? [`the kubelet's client certificate expired on ${kubeletCert.notAfter.toISOString()}`] : []),
    ...(stuck.length > 0 ? [`the kubelet logs "${SOURCES_NOT_READY}" (${stuck.length} time(s) since its start): it has not reached the API server, so it does not replace static pods`] : []),
    ...(record?.stillDown ? [`the last run kept the renewed certificates with ${record.stillDown.component} still down (${record.stillDown.tried.length > 0 ? record.stillDown.tried.join("; ") : "nothing tried yet"})`] : []),
  ];
  if (expired.length > 0 || kubeletExpired) {
    const what = "renew-certs run renews them, re-issues the kubelet's certificate, restarts the kubelet where it is stuck and proves every component, and never restores expired certificates";
    return [finding("control plane down", "FAIL", `${facts.join("; ")}. ${what}`, "renew-certs run")];
  }
  if (stuck.length > 0) return [finding("control plane down", "FAIL", facts.join("; "), "systemctl restart kubelet")];
  return [];
}
