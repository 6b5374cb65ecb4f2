// Whether the kubelet's own client certificate needs renew-certs: the kubelet rotates it through
// the API server, so only one that has expired or expires within the safety margin (when the
// kubelet cannot reach the API server any more) is re-issued. Pure, and light enough for status.
import type { Inventory } from "../inventory/scan.js";
import { DAY_MS } from "./age.js";

/** Whether kubelet.conf's client certificate must be re-issued: it is in a file, and expired or within the margin. */
export function kubeletClientDue(inv: Inventory, now: Date, safetyMarginDays: number): { due: boolean; why: string } {
  const k = inv.kubelet;
  if (k.missing || !k.cert || !k.certFile) return { due: false, why: "no kubelet client certificate on this host" };
  if (k.embedded) return { due: false, why: `${k.file} embeds its client certificate: point it at /var/lib/kubelet/pki/kubelet-client-current.pem (kubeadm's "kubelet client certificate rotation")` };
  const left = k.cert.notAfter.getTime() - now.getTime();
  if (left <= 0) return { due: true, why: `the kubelet's client certificate ${k.certFile} expired on ${k.cert.notAfter.toISOString()}` };
  if (left <= safetyMarginDays * DAY_MS) return { due: true, why: `the kubelet's client certificate ${k.certFile} expires on ${k.cert.notAfter.toISOString()}, within the safety margin of ${safetyMarginDays} days` };
  return { due: false, why: `the kubelet's client certificate expires on ${k.cert.notAfter.toISOString()}; the kubelet rotates it` };
}
