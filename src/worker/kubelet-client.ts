// The kubelet's own client certificate on a worker (var/lib/kubelet/pki/kubelet-client-current.pem
// after kubeadm's TLS bootstrap): reported, never re-issued (a worker has no CA key). The
// controller-manager's signer caps what it signs at its CA certificate's NotAfter, so a certificate
// issued under the old CA certificate ends at the old NotAfter: the CA deadline. The kubelet rotates
// its certificate once 70 to 90 % of its lifetime has passed (client-go's certificate manager,
// nextRotationDeadline); one that is still there past 90 % is not being rotated.
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { certificatesIn } from "../ca/holders.js";
import type { Kubeconfig } from "../kubeconfig/kubeconfig.js";
import { KUBELET_CONFIG } from "../kubelet/healthz.js";

/** What the kubelet's client certificate means for the node. */
export interface KubeletClientReport {
  file: string;
  notBefore: string;
  notAfter: string;
  /** It ends at the NotAfter of a CA certificate this node held before a renewal (the signer's cap). */
  cappedAt: string | undefined;
  expired: boolean;
  /** What to do, when it would expire before the kubelet rotates it (or has expired). */
  advice: string | undefined;
}

/** Reads and judges the kubelet's client certificate named by kubelet.conf; undefined when it has none that can be read. */
export async function kubeletClientReport(o: { root: string; kubeletConf: Kubeconfig; nodeName: string; oldCaNotAfter: Date[]; now: Date }): Promise<KubeletClientReport | undefined> {
  const src = o.kubeletConf.clientCertificate;
  if (!src) return undefined;
  const file = src.kind === "file" ? src.hostPath : o.kubeletConf.file;
  const text = src.kind === "data" ? src.pem : await readFile(src.hostPath, "utf8").catch(() => "");
  const cert = certificatesIn(text, file)[0]?.x509;
  if (!cert) return undefined;
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  const capped = o.oldCaNotAfter.find((d) => Math.abs(d.getTime() - to) < 1000);
  const config = await readFile(join(o.root, KUBELET_CONFIG), "utf8").then((t) => parse(t) as { rotateCertificates?: unknown }, () => undefined);
  const rotates = config?.rotateCertificates !== false;
  const latestRotation = from + 0.9 * (to - from);
  const expired = to <= o.now.getTime();
  const reissue = `on a control-plane host, make a new one (kubeadm kubeconfig user --org system:nodes --client-name system:node:${o.nodeName}), ` +
    `put its certificate and key in ${src.kind === "file" ? src.path : "kubelet.conf"} here, and restart the kubelet; or join the node again`;
  let advice: string | undefined;
  if (expired) advice = `the kubelet's client certificate expired at ${cert.validTo}: the kubelet cannot reach the API server with it; ${reissue}`;
  else if (!rotates) advice = `rotateCertificates is off in /${KUBELET_CONFIG}: before ${new Date(to).toISOString()}, turn it on and restart the kubelet, or ${reissue}`;
  else if (o.now.getTime() > latestRotation) {
    advice = `the kubelet should have rotated it by ${new Date(latestRotation).toISOString()} and has not (is it reaching the API server? are its CSRs approved?): ` +
      `before ${new Date(to).toISOString()}, look at its log (journalctl -u kubelet | grep -i certificate), or ${reissue}`;
  }
  return { file, notBefore: new Date(from).toISOString(), notAfter: new Date(to).toISOString(), cappedAt: capped?.toISOString(), expired, advice };
}
