// What a worker writes when the cluster's CA certificate (accepted by the pinning rule, src/kube/pin.ts)
// is not the one the node holds: pki/ca.crt (the kubelet's clientCAFile, re-read while it runs) and
// kubelet.conf's certificate-authority-data (read at the kubelet's start only), each with the new
// certificate in place of the old one of the same key, every other byte kept. Nothing is written here.
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import type { FoundCertificate } from "../ca/holders.js";
import { certificatesIn } from "../ca/holders.js";
import { replaceInBundle } from "../ca/plan.js";
import { withClusterCaData } from "../kubeconfig/kubeconfig.js";
import type { PinnedCa } from "../kube/pin.js";
import type { FileWrite } from "../renewal/plan.js";
import { fileError } from "../errors.js";

/** What a worker run does with the cluster's CA certificate. */
export type WorkerPlan =
  | { kind: "current"; cert: FoundCertificate }
  /** Nothing to take: `why` says (the node holds a newer certificate, or the cluster's has expired). */
  | { kind: "kept"; why: string }
  | { kind: "update"; cert: FoundCertificate; pem: string; previous: FoundCertificate; writes: FileWrite[] };

const when = (c: FoundCertificate): string => new Date(c.x509.validTo).toISOString();

/** Plans the writes that bring the node onto `fetched` (see the top of this file). */
export async function planWorker(root: string, pinned: PinnedCa, fetched: FoundCertificate, now: Date): Promise<WorkerPlan> {
  const held = pinned.held;
  if (Date.parse(fetched.x509.validTo) <= now.getTime()) {
    return { kind: "kept", why: `the cluster's CA certificate (serial ${fetched.x509.serialNumber}) has expired too (${when(fetched)}): nothing to take; renew the CA on a control-plane host (renew-certs run)` };
  }
  if (!fetched.der.equals(held.der) && Date.parse(fetched.x509.validTo) < Date.parse(held.x509.validTo)) {
    return { kind: "kept", why: `this node holds a newer certificate of the same CA (valid to ${when(held)}) than the cluster publishes (valid to ${when(fetched)}): left alone until the control plane publishes it` };
  }
  const pem = fetched.x509.toString();
  const writes: FileWrite[] = [];
  const bundleWrite = async (file: string, what: string): Promise<void> => {
    const text = await readFile(file, "utf8").catch((e: unknown) => { throw fileError(e, file, what); });
    if (certificatesIn(text, file)[0]?.der.equals(fetched.der)) return;
    writes.push({ path: file, content: replaceInBundle(text, fetched, pem, file), mode: undefined, what });
  };
  await bundleWrite(pinned.caFile, "CA certificate");
  const kc = pinned.kubeletConf;
  if (pinned.kubeletConfCaFile !== undefined) {
    // kubelet.conf names a CA file: that file is the trust location (pki/ca.crt is written once).
    if (pinned.kubeletConfCaFile !== pinned.caFile && pinned.kubeletConfCaFile !== join(root, "etc/kubernetes/pki/ca.crt")) await bundleWrite(pinned.kubeletConfCaFile, "CA certificate");
  } else if (!pinned.kubeletConfCas.some((c) => c.der.equals(fetched.der))) {
    writes.push({ path: kc.file, content: await withClusterCaData(kc, replaceInBundle(kc.caPem!, fetched, pem, kc.file)), mode: undefined, what: "kubeconfig" });
  }
  if (writes.length === 0) return { kind: "current", cert: fetched };
  return { kind: "update", cert: fetched, pem, previous: held, writes };
}
