// The proof, before anything is written, that a re-signed CA certificate still issues every
// certificate of this host that the old one issued: for each leaf and kubeconfig client certificate,
// OpenSSL's issuer check (X509_check_issued: names, key identifiers, key usage) and the signature
// against the new certificate's key, in memory through node:crypto's X509Certificate (OpenSSL).
import { join } from "node:path";
import type { X509Certificate } from "node:crypto";
import type { Inventory } from "../inventory/scan.js";
import type { CaName } from "../inventory/catalog.js";
import { LAYOUT } from "../inventory/catalog.js";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";
import { parseCertificatePem, type Certificate } from "../pki/pem.js";
import { exists, readText } from "../util/fs.js";
import { namesIssuerSerial } from "./parts.js";
import { RenewCertsError } from "../errors.js";

/** A certificate on this host that a CA may have issued. */
export interface HostLeaf {
  name: string;
  cert: Certificate;
}

/** Every leaf and client certificate of `ca` on this host: the inventory's, the kubelet's, /root/.kube/config's. */
export async function leavesOf(inv: Inventory, ca: CaName): Promise<HostLeaf[]> {
  const out: HostLeaf[] = inv.leaves.filter((l) => l.spec.ca === ca && l.cert).map((l) => ({ name: l.spec.name, cert: l.cert! }));
  if (ca !== "ca") return out;
  if (inv.kubelet.cert) out.push({ name: "kubelet.conf (kubelet client certificate)", cert: inv.kubelet.cert });
  const rootConfig = join(inv.root, LAYOUT.rootKubeconfig);
  if (await exists(rootConfig)) {
    const kc = await parseKubeconfig(await readText(rootConfig, "kubeconfig"), rootConfig, inv.root).catch(() => undefined);
    const cc = kc?.clientCertificate;
    if (cc?.kind === "data") {
      try {
        out.push({ name: `${LAYOUT.rootKubeconfig} (client certificate)`, cert: parseCertificatePem(cc.pem, `${rootConfig} (client-certificate-data)`) });
      } catch {
        // not ours to judge: a user's kubeconfig that cannot be read is not a leaf of this CA
      }
    }
  }
  return out;
}

/** What the check found: leaves another CA issued, and leaves that must be renewed too. */
export interface LeafCheck {
  checked: string[];
  /** Not signed by this CA's key: re-signing changes nothing for them. */
  otherIssuer: string[];
  /** Name the old CA by issuer and serial in their authority key identifier: renew them too. */
  mustRenew: string[];
}

/**
 * Checks every leaf the old certificate `old` issued against the re-signed `made`; throws INTERNAL
 * (nothing is written then) when one that should chain no longer does.
 */
export function checkLeaves(leaves: HostLeaf[], old: X509Certificate, made: X509Certificate, caFile: string): LeafCheck {
  const r: LeafCheck = { checked: [], otherIssuer: [], mustRenew: [] };
  for (const l of leaves) {
    const x = l.cert.x509;
    if (!x.verify(old.publicKey)) {
      r.otherIssuer.push(l.name);
      continue;
    }
    if (x.checkIssued(made) && x.verify(made.publicKey)) {
      r.checked.push(l.name);
      continue;
    }
    if (namesIssuerSerial(l.cert.der, l.cert.source)) {
      r.mustRenew.push(l.name);
      continue;
    }
    throw new RenewCertsError("INTERNAL", `the re-signed CA for ${caFile} does not issue ${l.name} (${l.cert.source}) as the old one does: ` +
      "nothing was changed; report this CA's and this certificate's shape (openssl x509 -text)", { file: l.cert.source });
  }
  return r;
}
