// Do the control-plane components run the certificates on disk? kube-apiserver re-reads its
// serving certificate by itself (a served fingerprint alone proves nothing about a restart), so it
// is judged by what it serves on a fresh connection; what it keeps in memory is its loopback
// certificate, which ends its life at expiry. kube-controller-manager and kube-scheduler keep the
// client certificate of their kubeconfig in memory: they run the renewed one only when their
// process (the start their self-signed serving certificate names) started after it was written.
import { readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { X509Certificate } from "node:crypto";
import { LAYOUT } from "../inventory/catalog.js";
import { manifestsToRestart } from "../manifests/list.js";
import { readManifest, formatEndpoint } from "../manifests/manifest.js";
import { sameFingerprint, servedIdentity, type TlsIdentity } from "../kube/tls.js";
import type { Endpoint } from "../manifests/manifest.js";
import { DAY_MS } from "../policy/age.js";
import { LOOPBACK_SERVER_NAME } from "../run/identity.js";
import { etcdTarget } from "../run/reload-proof.js";
import type { DoctorContext } from "./checks.js";
import { finding, type Finding } from "./findings.js";

/** The certificate served at an endpoint (asking for `servername`); undefined when nothing answers. */
export type TlsProbe = (endpoint: Endpoint, servername?: string) => Promise<TlsIdentity | undefined>;

/** The real probe: a TLS handshake of its own. */
export const realTls: TlsProbe = (e, servername) => servedIdentity(e, { timeoutMs: 3000, ...(servername ? { servername } : {}) }).catch(() => undefined);

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** When kube-apiserver's loopback certificate forces its next restart, as each restart mode goes. */
function loopbackPlan(s: DoctorContext["settings"], validTo: number): string {
  if (s.restartMode !== "minimal") return "every renewal restarts it (restart mode all)";
  const from = validTo - (s.certificateRenewInterval + s.safetyMarginDays) * DAY_MS;
  return `in restart mode minimal, the first renewal from ${day(from)} on restarts it (its next renewal plus the safety margin would pass that expiry)`;
}

/** One finding per configured component (etcd when listed): does it run the certificates on disk, and how that is known. */
export async function checkRunning(c: Pick<DoctorContext, "root" | "settings" | "inv" | "now" | "tls">): Promise<Finding[]> {
  const tls = c.tls ?? realTls;
  const out: Finding[] = [];
  let etcd: Finding[] = [];
  for (const ref of (await manifestsToRestart(c.root, c.settings.manifests)).present) {
    if (ref.component === "etcd") {
      etcd = await checkEtcd(c.root, tls); // opt-in, as for run: judged by what it serves
      continue;
    }
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
        out.push(finding(check, "WARN", `it serves ${leaf?.certFile ?? "the certificate on disk"}, but its loopback certificate (made at its start) expires on ${day(loopback.validTo)}: it breaks then unless it is restarted`, `restart kube-apiserver (set the ${c.settings.annotationKey} annotation in its manifest); the next renewal restarts it too, in either restart mode`));
      } else {
        const started = loopback?.startedAt !== undefined ? `, made at its start ${new Date(loopback.startedAt).toISOString()},` : "";
        out.push(finding(check, "OK", `serves ${leaf?.certFile ?? "the certificate on disk"} on a new connection (proven by the fingerprint it serves: re-read from disk, or loaded at its start)${loopback ? `; its loopback certificate${started} expires on ${day(loopback.validTo)}: ${loopbackPlan(c.settings, loopback.validTo)}` : ""}`));
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
  return [...out, ...etcd];
}

/** A local etcd (its manifest present): does it serve the server and peer certificates on disk (it re-reads them on every handshake)? */
async function checkEtcd(root: string, tls: TlsProbe): Promise<Finding[]> {
  const m = await readManifest(join(root, LAYOUT.manifestsDir, "etcd.yaml")).catch(() => undefined);
  const target = m ? etcdTarget(root, m) : undefined;
  if (!target) return [];
  const check = "etcd runs the files on disk";
  const problems: string[] = [];
  const proofs: string[] = [];
  for (const [endpoint, file] of [[target.client, target.serverCert], [target.peer, target.peerCert]] as const) {
    const onDisk = await readFile(file).then((b) => new X509Certificate(b).fingerprint256, () => undefined);
    const served = await tls(endpoint);
    const name = relative(join(root, LAYOUT.pkiDir), file);
    if (!served) problems.push(`nothing answers at ${formatEndpoint(endpoint)}`);
    else if (!sameFingerprint(served.fingerprint, onDisk)) problems.push(`${formatEndpoint(endpoint)} serves another certificate than ${name}`);
    else proofs.push(`${formatEndpoint(endpoint)} serves ${name}`);
  }
  if (problems.length > 0) return [finding(check, "WARN", `${problems.join("; ")} (etcd re-reads its certificates on every new handshake)`, "crictl ps --name etcd; crictl logs <etcd container>; journalctl -u kubelet")];
  return [finding(check, "OK", `${proofs.join(", ")} on new connections (proven by the fingerprints it serves; it re-reads them on every handshake)`)];
}
