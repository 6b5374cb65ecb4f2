// The record of a CA's last re-signing, <state>/ca-<name>.json: which certificate it made, which
// one it replaced, and the deadline by which everything that trusts the CA must hold the new one
// (the old certificate's NotAfter). It is written in the same atomic set as the CA's files, last,
// so that it exists only when they hold the certificate it names; a record whose fingerprint is not
// the CA file's (a restored backup) is ignored.
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { LAYOUT, type CaName } from "../inventory/catalog.js";

/** One CA's last re-signing. */
export interface CaRecord {
  ca: CaName;
  /** When it was re-signed (ISO). */
  renewedAt: string;
  /** The certificate made: SHA-256 fingerprint (as node:crypto prints it), serial, NotAfter. */
  fingerprint256: string;
  serial: string;
  notAfter: string;
  /** The certificate it replaced. */
  previous: { fingerprint256: string; serial: string; notAfter: string };
  /**
   * The deadline: everything that trusts this CA must hold the new certificate before it (ISO).
   * The replaced certificate's NotAfter, or an earlier deadline of a renewal before it that had
   * not passed yet (a consumer may still hold that older certificate).
   */
  deadline: string;
}

/** Where a CA's record lives under --root. */
export function recordPath(root: string, ca: CaName): string {
  return join(root, LAYOUT.stateDir, `ca-${ca}.json`);
}

/** A CA's record, or undefined when there is none or it cannot be read (status goes on without it). */
export async function readCaRecord(root: string, ca: CaName): Promise<CaRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(recordPath(root, ca), "utf8")) as CaRecord;
    return typeof r.fingerprint256 === "string" && typeof r.deadline === "string" ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The record of a new re-signing, carrying an earlier deadline that has not passed yet. */
export function nextRecord(o: {
  ca: CaName; now: Date; made: { fingerprint256: string; serial: string; notAfter: Date };
  replaced: { fingerprint256: string; serial: string; notAfter: Date }; earlier: CaRecord | undefined;
}): CaRecord {
  let deadline = o.replaced.notAfter.toISOString();
  const prev = o.earlier?.deadline;
  const sameChain = o.earlier !== undefined && o.earlier.fingerprint256 === o.replaced.fingerprint256;
  if (sameChain && prev && Date.parse(prev) > o.now.getTime() && Date.parse(prev) < Date.parse(deadline)) deadline = prev;
  return {
    ca: o.ca,
    renewedAt: o.now.toISOString(),
    fingerprint256: o.made.fingerprint256,
    serial: o.made.serial,
    notAfter: o.made.notAfter.toISOString(),
    previous: { fingerprint256: o.replaced.fingerprint256, serial: o.replaced.serial, notAfter: o.replaced.notAfter.toISOString() },
    deadline,
  };
}
