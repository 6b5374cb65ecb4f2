// The plan of one CA's renewal on this host: the re-signed certificate, proven against every leaf,
// and the writes that put it in every trust location that holds this CA's key. Nothing is written
// here; renew.ts applies the plan (or prints it, with --dry-run).
import { X509Certificate } from "node:crypto";
import type { Inventory, CaEntry } from "../inventory/scan.js";
import type { CaName } from "../inventory/catalog.js";
import type { Logger } from "../log/logger.js";
import { loadCa } from "../renewal/material.js";
import { parseCertificatePem } from "../pki/pem.js";
import type { FileWrite } from "../renewal/plan.js";
import { withClusterCaData } from "../kubeconfig/kubeconfig.js";
import { RenewCertsError } from "../errors.js";
import { resignCa, type Resigned } from "./resign.js";
import { checkLeaves, leavesOf, type LeafCheck } from "./leaves.js";
import { certificatesIn, readHolders, type FoundCertificate, type HeldFile } from "./holders.js";
import { caPartsOf } from "./parts.js";
import { nextRecord, readCaRecord, recordPath, type CaRecord } from "./record.js";

/** One CA's renewal, planned. */
export interface CaPlan {
  ca: CaName;
  caFile: string;
  old: { serial: string; notAfter: Date; fingerprint256: string };
  made: Resigned;
  leaves: LeafCheck;
  /** Every file written, in order: the CA file, the kubeconfigs, the record last. */
  writes: FileWrite[];
  /** Trust locations left as they are, and why (for people). */
  leftAlone: { path: string; why: string }[];
  record: CaRecord;
  /** The current cluster's name in admin.conf, for the command that refreshes a user's copy. */
  clusterName: string | undefined;
}

/** A FoundCertificate of a certificate just made. */
function found(der: Buffer, x509: X509Certificate): FoundCertificate {
  const p = caPartsOf(der, "re-signed CA");
  return { der, x509, spki: p.spki, subject: p.subject };
}

/**
 * A PEM bundle with every certificate of `made`'s key and subject replaced by `made` (once), the
 * others kept in order: a kubeconfig may trust more than this CA.
 */
export function replaceInBundle(pem: string, made: FoundCertificate, madePem: string, source: string): string {
  const certs = certificatesIn(pem, source);
  let placed = false;
  const out: string[] = [];
  for (const c of certs) {
    if (c.spki.equals(made.spki) && c.subject.equals(made.subject)) {
      if (!placed) out.push(madePem.trim());
      placed = true;
    } else {
      out.push(c.x509.toString().trim());
    }
  }
  return out.join("\n") + "\n";
}

/** A published certificate as if made here. */
function adopted(pem: string, source: string): Resigned {
  const cert = parseCertificatePem(pem, `${source} (published)`);
  return { der: cert.der, pem: cert.x509.toString(), x509: cert.x509, serialHex: cert.x509.serialNumber, notBefore: cert.notBefore, notAfter: cert.notAfter };
}

/** Throws the refusal for a CA that cannot be re-signed here, before its key is read. */
function checkPresent(entry: CaEntry): void {
  if (entry.externallyManaged) {
    throw new RenewCertsError("CA_NOT_RENEWABLE", `CA ${entry.certFile} (${entry.spec.name}) has no key on this host (${entry.keyFile} not found): ` +
      "it is an external CA; whoever keeps its key must re-sign it, then copy the new certificate here; nothing was changed", { file: entry.keyFile });
  }
}

/** The writes for the kubeconfigs that trust this CA's key; the others are left alone with a reason. */
async function kubeconfigWrites(held: HeldFile[], made: FoundCertificate, madePem: string, leftAlone: CaPlan["leftAlone"]): Promise<FileWrite[]> {
  const writes: FileWrite[] = [];
  for (const h of held) {
    if (h.kind !== "kubeconfig") continue;
    if (h.holding.state === "missing") continue;
    if (h.byReference) { leftAlone.push({ path: h.file, why: `it reads its CA from ${h.byReference} (certificate-authority:)` }); continue; }
    if (h.holding.state === "other-key") { leftAlone.push({ path: h.file, why: "its CA data is a certificate of another key (another cluster?)" }); continue; }
    if (h.holding.state === "no-ca" || !h.kubeconfig || h.pem === undefined) {
      leftAlone.push({ path: h.file, why: "it has no certificate-authority-data" });
      continue;
    }
    const caPem = replaceInBundle(h.pem, made, madePem, h.file);
    writes.push({ path: h.file, content: await withClusterCaData(h.kubeconfig, caPem), mode: undefined, what: "kubeconfig" });
  }
  return writes;
}

/**
 * Plans the renewal of `ca`: loads its certificate and key (refusing an external or intermediate
 * CA and a key that does not match), re-signs it, proves it against every leaf of this host, and
 * lists every write. Warns about leaves that must be renewed too.
 */
export async function planCaRenewal(o: { inv: Inventory; ca: CaName; now: Date; validityDays: number; log: Logger; adopt?: string }): Promise<CaPlan> {
  const entry = o.inv.cas.find((c) => c.spec.name === o.ca);
  if (!entry || entry.missing) {
    const why = o.ca === "etcd-ca" ? "external etcd: there is no pki/etcd/ca.crt" : "no certificate file";
    throw new RenewCertsError("USAGE", `${o.ca} is not on this host (${why})`);
  }
  checkPresent(entry);
  const loaded = await loadCa(entry);
  // Adopting (run, another host published this CA's new certificate, checked by the caller against
  // this key): the same leaf checks and writes as for a certificate made here.
  const made = o.adopt !== undefined ? adopted(o.adopt, loaded.cert.source) : resignCa({ old: loaded.cert, key: loaded.key, name: o.ca, now: o.now, validityDays: o.validityDays });
  const leaves = checkLeaves(await leavesOf(o.inv, o.ca), loaded.cert.x509, made.x509, entry.certFile);
  for (const n of leaves.mustRenew) {
    o.log.warn(`${n} names CA ${o.ca} by issuer and serial (authority key identifier): OpenSSL will not chain it to the re-signed certificate; ` +
      `renew it as well (renew-certs renew ${n.split(" ")[0]})`);
  }
  for (const n of leaves.otherIssuer) o.log.info(`${n} is not signed by ${o.ca}'s key: re-signing ${o.ca} changes nothing for it`);
  const madeFound = found(made.der, made.x509);
  const held = await readHolders(o.inv.root, o.ca, madeFound);
  const leftAlone: CaPlan["leftAlone"] = [];
  const writes: FileWrite[] = [{ path: entry.certFile, content: made.pem, mode: undefined, what: "CA certificate" }];
  writes.push(...(await kubeconfigWrites(held, madeFound, made.pem, leftAlone)));
  const old = { serial: loaded.cert.x509.serialNumber, notAfter: loaded.cert.notAfter, fingerprint256: loaded.cert.x509.fingerprint256 };
  const madeId = { fingerprint256: made.x509.fingerprint256, serial: made.x509.serialNumber, notAfter: made.notAfter };
  const record = nextRecord({ ca: o.ca, now: o.now, made: madeId, replaced: old, earlier: await readCaRecord(o.inv.root, o.ca) });
  // Last: the record exists only once every file holds the certificate it names.
  writes.push({ path: recordPath(o.inv.root, o.ca), content: JSON.stringify(record, null, 2) + "\n", mode: 0o600, what: "CA renewal record" });
  const admin = held.find((h) => h.path.endsWith("/admin.conf"))?.kubeconfig?.clusterName;
  return { ca: o.ca, caFile: entry.certFile, old, made, leaves, writes, leftAlone, record, clusterName: admin };
}
