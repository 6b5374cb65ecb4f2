// `renew-certs ca status`: for each CA, its expiry, when its renewal is due (NotAfter −
// caRenewBeforeDays), the deadline of its last re-signing, and what every trust location holds.
import { scanInventory } from "../inventory/scan.js";
import type { CaName } from "../inventory/catalog.js";
import { DAY_MS } from "../policy/age.js";
import { caPartsOf } from "./parts.js";
import { describeHolding, readHolders, type Holding } from "./holders.js";
import { locationsOf, type Reload } from "./trust-locations.js";
import { readCaRecord } from "./record.js";

/** One trust location's state, for people and for -o json. */
export interface LocationStatus {
  path: string;
  readBy: string;
  via: string;
  reload: Reload;
  holds: Holding["state"];
  detail: string;
}

/** One CA's state. */
export interface CaStatus {
  ca: CaName;
  file: string;
  /** The CA's key is not on this host: it cannot be re-signed here. */
  externallyManaged: boolean;
  notAfter: string;
  expired: boolean;
  daysLeft: number;
  /** NotAfter − caRenewBeforeDays (ISO). */
  renewalDue: string;
  due: boolean;
  /** The last re-signing, when this host's record names the current certificate. */
  renewedAt: string | undefined;
  /** The old certificate's NotAfter: everything must hold the new certificate before it. */
  deadline: string | undefined;
  locations: LocationStatus[];
}

/** The state of every CA on this host at `now`. Reads only. */
export async function caStatus(root: string, now: Date, caRenewBeforeDays: number): Promise<CaStatus[]> {
  const inv = await scanInventory(root);
  const out: CaStatus[] = [];
  for (const entry of inv.cas) {
    if (entry.missing || !entry.cert) continue;
    const cert = entry.cert;
    const parts = caPartsOf(cert.der, entry.certFile);
    const held = await readHolders(root, entry.spec.name, { der: cert.der, x509: cert.x509, spki: parts.spki, subject: parts.subject });
    const record = await readCaRecord(root, entry.spec.name);
    const current = record && record.fingerprint256 === cert.x509.fingerprint256 ? record : undefined;
    const due = new Date(cert.notAfter.getTime() - caRenewBeforeDays * DAY_MS);
    const locations = locationsOf(entry.spec.name).map((l) => {
      const h = held.find((x) => x.path === l.path)!;
      return { path: h.file, readBy: l.readBy, via: l.via, reload: l.reload, holds: h.holding.state, detail: describeHolding(h) };
    });
    out.push({
      ca: entry.spec.name,
      file: entry.certFile,
      externallyManaged: entry.externallyManaged,
      notAfter: cert.notAfter.toISOString(),
      expired: cert.notAfter.getTime() <= now.getTime(),
      daysLeft: Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS),
      renewalDue: due.toISOString(),
      due: due.getTime() <= now.getTime(),
      renewedAt: current?.renewedAt,
      deadline: current?.deadline,
      locations,
    });
  }
  return out;
}

/** The `ca status` table for people. Pure. */
export function renderCaStatus(rows: CaStatus[], now: Date): string {
  const day = (iso: string): string => iso.slice(0, 16).replace("T", " ") + " UTC";
  const blocks = rows.map((r) => {
    const state = r.expired ? "EXPIRED" : r.due ? "renewal due" : "ok";
    const lines = [
      `${r.ca} (${r.file})${r.externallyManaged ? " — external CA: no key on this host" : ""}`,
      `  expires:      ${day(r.notAfter)} (${r.expired ? "expired" : `${r.daysLeft} days left`}; ${state})`,
      `  renewal due:  ${day(r.renewalDue)}`,
    ];
    if (r.deadline) {
      const passed = Date.parse(r.deadline) <= now.getTime();
      lines.push(`  renewed:      ${day(r.renewedAt!)}`,
        `  deadline:     ${day(r.deadline)}${passed ? " (passed)" : ""}: everything that trusts ${r.ca} must hold the new certificate by then`);
    }
    const w = Math.max(...r.locations.map((l) => l.path.length));
    // Who reads it and through which flag or field: ca.crt alone is read four ways by two components.
    const who = (l: (typeof r.locations)[number]): string => `${l.readBy} ${l.via}`;
    const rw = Math.max(...r.locations.map((l) => who(l).length));
    lines.push("  trust locations:");
    for (const l of r.locations) lines.push(`    ${l.path.padEnd(w)}  ${who(l).padEnd(rw)}  ${l.reload.padEnd(12)}  ${l.detail}`);
    return lines.join("\n");
  });
  return blocks.join("\n\n") + "\n";
}
