// The kubelet's own client certificate (the file kubelet.conf names, usually
// /var/lib/kubelet/pki/kubelet-client-current.pem). The kubelet rotates it itself, through the API
// server; once it has expired it cannot (the API server it needs may itself wait for the kubelet).
// Then it is re-issued as kubeadm's documentation says for an expired kubelet certificate: subject
// O=system:nodes, CN=system:node:<node name>, client auth, signed by the cluster CA; a new key of the
// old key's type; certificate and key in the one file, mode 0600, written atomically (through the
// link kubelet-client-current.pem, to the file it points to) after a backup. The kubelet loads it
// at its start only: the caller restarts it.
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseKubeconfig, withRenewedCredentials } from "../kubeconfig/kubeconfig.js";
import type { Inventory } from "../inventory/scan.js";
import type { Logger } from "../log/logger.js";
import { generateKey, keySpecOf, privateKeyPem } from "../pki/keys.js";
import { issueCertificate, subjectKeyIdExtension } from "../pki/sign.js";
import { leafExtensions } from "../pki/profile.js";
import { writeFileAtomic, type AtomicWriteOptions } from "../util/atomic.js";
import { RenewCertsError } from "../errors.js";
export { kubeletClientDue } from "../policy/kubelet-due.js";
import { checkCaUsable, loadCa } from "./material.js";
import { checkValidity, validityWindow } from "./reissue.js";
import { createBackup } from "./backup.js";


/** Options of reissueKubeletClient. */
export interface KubeletClientOptions {
  inv: Inventory;
  nodeName: string;
  now: Date;
  validityDays: number;
  backupDir: string;
  backupsKept: number;
  log: Logger;
  onStep?: AtomicWriteOptions["onStep"];
}

/** Throws UNSUPPORTED unless the kubelet's client certificate can be re-issued here: a file, as kubeadm lays it out, and the cluster CA's key on this host. */
export async function checkReissuable(inv: Inventory): Promise<{ file: string }> {
  const k = inv.kubelet;
  const file = k.certFile;
  if (!k.cert || !file) throw new RenewCertsError("UNSUPPORTED", `${k.file}: no client certificate to re-issue`, { file: k.file });
  const kc = await parseKubeconfig(await readFile(k.file, "utf8"), k.file, inv.root);
  if (k.embedded) {
    if (kc.clientKey?.kind !== "data") throw new RenewCertsError("UNSUPPORTED", `${k.file} embeds its client certificate but not its key: renew-certs re-issues them only together; nothing was changed: re-issue it by hand`, { file: k.file });
  } else if (kc.clientKey?.kind !== "file" || kc.clientKey.hostPath !== file) {
    // kubeadm names one file for both (kubelet-client-current.pem); a key elsewhere would be left old beside the new certificate.
    throw new RenewCertsError("UNSUPPORTED", `${k.file} names its client key ${kc.clientKey?.kind === "file" ? `in another file (${kc.clientKey.hostPath}) than` : "apart from"} its client certificate ${file}: renew-certs re-issues the kubelet's certificate only as kubeadm lays it out (both in one file, kubelet-client-current.pem); nothing was changed: point client-certificate and client-key at one file, or re-issue it by hand`, { file: k.file });
  }
  if (inv.cas.find((c) => c.spec.name === "ca")!.externallyManaged) throw new RenewCertsError("UNSUPPORTED", `the kubelet's client certificate ${file} cannot be re-issued: the cluster CA's key is not on this host (external CA); have the CA's owner sign one`, { file });
  return { file };
}

/** Re-issues the kubelet's client certificate (see the top of this file); returns its NotAfter and the backup. */
export async function reissueKubeletClient(o: KubeletClientOptions): Promise<{ file: string; notAfter: Date; backup: string }> {
  const k = o.inv.kubelet;
  const { file } = await checkReissuable(o.inv);
  if (!k.cert) throw new RenewCertsError("UNSUPPORTED", `${k.file}: no client certificate file to re-issue`, { file: k.file });
  const caEntry = o.inv.cas.find((c) => c.spec.name === "ca")!;
  const ca = await loadCa(caEntry);
  checkCaUsable(ca, o.now);
  const key = await generateKey(keySpecOf(k.cert.x509.publicKey, file));
  const { notBefore, notAfter } = validityWindow(o.now, o.validityDays, ca.cert.notAfter);
  checkValidity("the kubelet's client certificate", notBefore, notAfter);
  const subject = `O=system:nodes, CN=system:node:${o.nodeName}`;
  const pem = await issueCertificate({
    subject, key, issuer: { cert: ca.cert, key: ca.key }, notBefore, notAfter,
    extensions: [...leafExtensions({ subject, usages: ["clientAuth"] }, key.asymmetricKeyType === "ec" ? "ec" : "rsa"), await subjectKeyIdExtension(key)],
  });
  const made = new X509Certificate(pem);
  if (!made.checkIssued(ca.cert.x509) || !made.verify(ca.cert.x509.publicKey) || !made.checkPrivateKey(key)) {
    throw new RenewCertsError("RENEW_FAILED", `the re-issued kubelet client certificate does not verify against ${caEntry.certFile}; nothing was written`, { file });
  }
  const backup = await createBackup(o.inv.root, o.backupDir, [...new Set([file, k.file])], o.now, "renew the kubelet's client certificate", { keep: o.backupsKept });
  if (k.embedded) {
    // Only the two values change in kubelet.conf; every other byte is kept.
    const kc = await parseKubeconfig(await readFile(k.file, "utf8"), k.file, o.inv.root);
    await writeFileAtomic(k.file, await withRenewedCredentials(kc, pem, privateKeyPem(key), undefined), { mode: 0o600, what: "kubeconfig", ...(o.onStep ? { onStep: o.onStep } : {}) });
  } else {
    await writeFileAtomic(file, pem + privateKeyPem(key), { mode: 0o600, what: "kubelet client certificate", ...(o.onStep ? { onStep: o.onStep } : {}) });
  }
  o.log.info(`re-issued the kubelet's client certificate (system:node:${o.nodeName})`, { file, notAfter: notAfter.toISOString(), backup });
  return { file, notAfter, backup };
}
