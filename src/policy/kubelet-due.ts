// Whether the kubelet's own client certificate needs renew-certs: the kubelet rotates it through
// the API server, so only one that has expired or expires within the safety margin (when the
// kubelet cannot reach the API server any more) is re-issued. Pure, and light enough for status.
import type { Inventory } from "../inventory/scan.js";
import { DAY_MS } from "./age.js";

/** Whether kubelet.conf's client certificate (in a file or embedded) must be re-issued: expired or within the margin. */
export function kubeletClientDue(inv: Inventory, now: Date, safetyMarginDays: number): { due: boolean; why: string } {
  const k = inv.kubelet;
  if (k.missing || !k.cert || !k.certFile) return { due: false, why: "no kubelet client certificate on this host" };
  // Embedded in kubelet.conf (older kubeadm): the kubelet never rotates it; re-issued into kubelet.conf the same way.
  const where = k.embedded ? `embedded in ${k.file}` : k.certFile;
  const left = k.cert.notAfter.getTime() - now.getTime();
  if (left <= 0) return { due: true, why: `the kubelet's client certificate ${where} expired on ${k.cert.notAfter.toISOString()}` };
  if (left <= safetyMarginDays * DAY_MS) return { due: true, why: `the kubelet's client certificate ${where} expires on ${k.cert.notAfter.toISOString()}, within the safety margin of ${safetyMarginDays} days` };
  return { due: false, why: k.embedded ? `${k.file} embeds its client certificate, which the kubelet does not rotate: point it at /var/lib/kubelet/pki/kubelet-client-current.pem (kubeadm's "kubelet client certificate rotation"); renew-certs re-issues it when it expires within the safety margin` : `the kubelet's client certificate expires on ${k.cert.notAfter.toISOString()}; the kubelet rotates it` };
}
