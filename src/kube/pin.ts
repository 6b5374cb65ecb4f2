// The key-pinning rule of a worker node: the only CA certificate it will ever take from the cluster
// is one of the key it already trusts. The node's trust is pki/ca.crt (the kubelet's clientCAFile)
// and kubelet.conf's certificate-authority-data (the kubelet's trust in the API server); both must
// name the same CA. A certificate from the cluster is accepted only when its SubjectPublicKeyInfo
// is byte for byte the pinned one (the key kubeadm join pins: --discovery-token-ca-cert-hash is the
// SHA-256 of these bytes, kubeadm pubkeypin.Hash), its subject is byte for byte the same (Go matches
// issuer to subject by raw bytes, crypto/x509 verify.go), and it is self-signed by that key. A
// same-key renewal (src/ca/resign.ts) passes; a certificate of any other key never does, so this
// path can never make a node trust a CA it did not trust before.
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { join } from "node:path";
import { LAYOUT } from "../inventory/catalog.js";
import { parseKubeconfig, type Kubeconfig } from "../kubeconfig/kubeconfig.js";
import { certificatesIn, type FoundCertificate } from "../ca/holders.js";
import { caPartsOf } from "../ca/parts.js";
import { RenewCertsError } from "../errors.js";
import { readText } from "../util/fs.js";

/** The CA a node trusts, as its files hold it. */
export interface PinnedCa {
  /** The first certificate of pki/ca.crt (kubeadm reads only the first). */
  held: FoundCertificate;
  /** The pinned public key (from `held`'s SubjectPublicKeyInfo). */
  key: KeyObject;
  /** "sha256:<hex>" of the SubjectPublicKeyInfo: kubeadm join's --discovery-token-ca-cert-hash. */
  hash: string;
  caFile: string;
  kubeletConf: Kubeconfig;
  /** The certificates of kubelet.conf's CA (embedded data, or the file it names). */
  kubeletConfCas: FoundCertificate[];
  /** kubelet.conf names a CA file (certificate-authority:) instead of embedding the data. */
  kubeletConfCaFile: string | undefined;
}

/** kubeadm join's pin of a certificate's key: "sha256:" and the hex SHA-256 of its SubjectPublicKeyInfo DER. */
export function pinHashOf(spki: Buffer): string {
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

/** The CA of pki/ca.crt and kubelet.conf under `root`; refuses when they name different CAs. */
export async function readPinnedCa(root: string): Promise<PinnedCa> {
  const caFile = join(root, LAYOUT.pkiDir, "ca.crt");
  const conf = join(root, LAYOUT.kubernetesDir, "kubelet.conf");
  const held = certificatesIn(await readText(caFile, "CA certificate"), caFile)[0];
  if (!held) throw new RenewCertsError("PEM", `${caFile} holds no certificate that can be read: restore it from a backup (or copy it from a control-plane host)`, { file: caFile });
  const kc = await parseKubeconfig(await readText(conf, "kubeconfig"), conf, root);
  const pem = kc.caPem ?? (kc.caFile ? await readText(kc.caFile, "CA certificate") : undefined);
  if (pem === undefined) {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${conf}: cluster ${kc.clusterName} has no certificate-authority-data: ` +
      "the kubelet could not verify the API server; restore it from a backup", { file: conf });
  }
  const cas = certificatesIn(pem, conf);
  const hash = pinHashOf(held.spki);
  if (!cas.some((c) => c.spki.equals(held.spki) && c.subject.equals(held.subject))) {
    const other = cas[0] ? `${pinHashOf(cas[0].spki)} (${cas[0].x509.subject.replace(/\n/g, ", ")})` : "no readable certificate";
    throw new RenewCertsError("MISMATCH", `${caFile} and the certificate-authority-data of ${conf} name different CAs: ${caFile} has the key ${hash} ` +
      `(${held.x509.subject.replace(/\n/g, ", ")}), ${conf} ${other}. renew-certs takes a CA certificate from the cluster only for the key ` +
      "this node trusts, and here it cannot tell which: compare both with the cluster's (kubeadm join's --discovery-token-ca-cert-hash), " +
      "put the right one in both places, and run again; nothing was changed", { file: conf });
  }
  return {
    held, key: createPublicKey({ key: held.spki, format: "der", type: "spki" }), hash, caFile, kubeletConf: kc, kubeletConfCas: cas,
    kubeletConfCaFile: kc.caPem === undefined ? kc.caFile : undefined,
  };
}

/** Where a CA certificate came from: "kube-public/cluster-info", "renew-certs/kube-root-ca.crt". */
export type CaSource = string;

/**
 * The certificate of `pem` (a bundle may hold several) that the pinning rule accepts: the pinned
 * key, the same subject bytes, self-signed by that key; the one valid longest when several are.
 * Throws UNTRUSTED_CA, naming what differs, when none is: nothing may be written then.
 */
export function acceptPinned(pem: string, pinned: Pick<PinnedCa, "held" | "key" | "hash">, source: CaSource): FoundCertificate {
  const certs = certificatesIn(pem, source);
  const refuse = (why: string): never => {
    throw new RenewCertsError("UNTRUSTED_CA", `the CA certificate in ${source} ${why}: refused, nothing was written. This node takes a CA ` +
      `certificate from the cluster only when it has the key it already trusts (${pinned.hash}, the same subject, self-signed by that key). ` +
      "If the cluster's CA was replaced with a new key (a rotation, not a renewal), join this node again (kubeadm join); otherwise " +
      `someone changed ${source}: find out who`);
  };
  if (certs.length === 0) refuse("cannot be read (no PEM certificate)");
  const sameKey = certs.filter((c) => c.spki.equals(pinned.held.spki));
  if (sameKey.length === 0) refuse(`has another key (${certs.map((c) => pinHashOf(c.spki)).join(", ")})`);
  const sameName = sameKey.filter((c) => c.subject.equals(pinned.held.subject));
  if (sameName.length === 0) {
    refuse(`has the pinned key but another subject (${sameKey[0]!.x509.subject.replace(/\n/g, ", ")}; this node's: ${pinned.held.x509.subject.replace(/\n/g, ", ")})`);
  }
  // Self-signed by the pinned key: its issuer is its own subject and the signature verifies.
  const signed = sameName.filter((c) => caPartsOf(c.der, source).issuer.equals(c.subject) && c.x509.verify(pinned.key));
  if (signed.length === 0) refuse("has the pinned key and subject but is not self-signed by that key (its signature does not verify)");
  return signed.reduce((a, b) => (Date.parse(b.x509.validTo) > Date.parse(a.x509.validTo) ? b : a));
}
