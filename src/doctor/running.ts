// Do the control-plane components run the certificates on disk? kube-apiserver re-reads its
// serving certificate by itself (a served fingerprint alone proves nothing about a restart), so it
// is judged by what it serves on a fresh connection; what it keeps in memory is its loopback
// certificate, which ends its life at expiry. kube-controller-manager and kube-scheduler keep the
// client certificate of their kubeconfig in memory: they run the renewed one only when their
// process (the start their self-signed serving certificate names) started after it was written.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { LAYOUT } from "../inventory/catalog.js";
import { manifestsToRestart } from "../manifests/list.js";
import { readManifest, formatEndpoint } from "../manifests/manifest.js";
import { sameFingerprint, servedIdentity, type TlsIdentity } from "../kube/tls.js";
import type { Endpoint } from "../manifests/manifest.js";
import { DAY_MS } from "../policy/age.js";
import { LOOPBACK_SERVER_NAME } from "../run/identity.js";
import type { DoctorContext } from "./checks.js";
import { finding, type Finding } from "./findings.js";

/** The certificate served at an endpoint (asking for `servername`); undefined when nothing answers. */
export type TlsProbe = (endpoint: Endpoint, servername?: string) => Promise<TlsIdentity | undefined>;

/** The real probe: a TLS handshake of its own. */
export const realTls: TlsProbe = (e, servername) => servedIdentity(e, { timeoutMs: 3000, ...(servername ? { servername } : {}) }).catch(() => undefined);

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** One finding per restarted component: does it run the certificates on disk, and how that is known. */
export async function checkRunning(c: DoctorContext): Promise<Finding[]> {
  const tls = c.tls ?? realTls;
  const out: Finding[] = [];
  for (const ref of (await manifestsToRestart(c.root, c.settings.manifests)).present) {
    const m = await readManifest(ref.file).catch(() => undefined);
    if (!m) continue;
    const check = `${ref.component} runs the files on disk`;
    if (ref.component === "kube-apiserver") {
      const leaf = c.inv.leaves.find((l) => l.spec.name === "apiserver");
      const [served, loopback] = await Promise.all([tls(m.advertiseEndpoint), tls(m.advertiseEndpoint, LOOPBACK_SERVER_NAME)]);
      if (!served) {
        out.push(finding(check, "WARN", `nothing answers at ${formatEndpoint(m.advertiseEndpoint)}`, "crictl ps --name kube-apiserver; journalctl -u kubelet"));
        continue;
      }
      if (leaf?.cert && !sameFingerprint(served.fingerprint, leaf.cert.x509.fingerprint256)) {
        out.push(finding(check, "FAIL", `${formatEndpoint(m.advertiseEndpoint)} serves another certificate than ${leaf.certFile}: the renewed one is not loaded (not reloaded, not restarted)`, "renew-certs run (it restarts when a renewal is pending), or restart kube-apiserver"));
        continue;
      }
      const left = loopback ? loopback.validTo - c.now.getTime() : undefined;
      if (loopback && left !== undefined && left < c.settings.safetyMarginDays * DAY_MS) {
        out.push(finding(check, "WARN", `it serves ${leaf?.certFile ?? "the certificate on disk"}, but its loopback certificate (made at its start) expires on ${day(loopback.validTo)}: it breaks then unless it is restarted`, "renew-certs run --restart-mode all, or restart kube-apiserver (an annotation in its manifest)"));
      } else {
        out.push(finding(check, "OK", `serves ${leaf?.certFile ?? "the certificate on disk"} on a new connection (re-read from disk)${loopback ? `; its loopback certificate expires on ${day(loopback.validTo)}` : ""}`));
      }
      continue;
    }
    const kubeconfig = m.flags.get("kubeconfig");
    if (!m.secureEndpoint || !kubeconfig) continue;
    const served = await tls(m.secureEndpoint);
    const written = await stat(join(c.root, kubeconfig)).then((s) => s.mtimeMs, () => undefined);
    if (!served?.startedAt || written === undefined) {
      out.push(finding(check, "WARN", served ? `${formatEndpoint(m.secureEndpoint)} serves a certificate that names no start (${served.subject})` : `nothing answers at ${formatEndpoint(m.secureEndpoint)}`, `crictl ps --name ${ref.component}; journalctl -u kubelet`));
      continue;
    }
    const file = join(LAYOUT.kubernetesDir, kubeconfig.split("/").pop() ?? kubeconfig);
    if (served.startedAt < Math.floor(written / 1000) * 1000) {
      out.push(finding(check, "FAIL", `its process started ${new Date(served.startedAt).toISOString()}, before ${file} was written (${new Date(written).toISOString()}): it still uses the old client certificate`, `renew-certs run (it restarts when a renewal is pending), or restart ${ref.component}`));
    } else {
      out.push(finding(check, "OK", `its process started ${new Date(served.startedAt).toISOString()}, after ${file} was written (its serving certificate names its start)`));
    }
  }
  return out;
}
