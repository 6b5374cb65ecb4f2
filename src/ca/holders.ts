// What each trust location of a CA holds on disk: the CA file's certificate, an older certificate of
// the same key, a certificate of another key, or nothing. `ca status` shows it; `ca renew` writes
// the locations that hold this CA's key and leaves the others alone.
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { parseKubeconfig, type Kubeconfig } from "../kubeconfig/kubeconfig.js";
import { readText, exists } from "../util/fs.js";
import { caPartsOf } from "./parts.js";
import { filesOf, type TrustLocation } from "./trust-locations.js";
import type { CaName } from "../inventory/catalog.js";

/** One certificate found in a PEM text. */
export interface FoundCertificate {
  der: Buffer;
  x509: X509Certificate;
  spki: Buffer;
  subject: Buffer;
}

const BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

/** Every certificate of a PEM text that parses (a bundle may hold several); `source` names it. */
export function certificatesIn(text: string, source: string): FoundCertificate[] {
  const out: FoundCertificate[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const der = Buffer.from(m[1]!, "base64");
    try {
      const parts = caPartsOf(der, source);
      out.push({ der, x509: new X509Certificate(der), spki: parts.spki, subject: parts.subject });
    } catch {
      // a damaged block is reported as "no certificate of this CA", never thrown: status must go on
    }
  }
  return out;
}

/** What a location holds, compared with the CA file's certificate. */
export type Holding =
  | { state: "current" }
  | { state: "old"; notAfter: string; serial: string }
  | { state: "other-key" }
  | { state: "missing" }
  | { state: "no-ca" };

/** One file of a CA's trust locations, read. */
export interface HeldFile {
  path: string;
  file: string;
  kind: TrustLocation["kind"];
  optional: boolean;
  holding: Holding;
  /** The kubeconfig, when the location is one and it parses. */
  kubeconfig?: Kubeconfig;
  /** The kubeconfig names a CA file (certificate-authority:) instead of embedding it: that file was read. */
  byReference?: string;
  /** The PEM text the location holds (the kubeconfig's CA data, or the file's text). */
  pem?: string;
}

/** Compares the certificates of a location with the CA's current certificate. */
export function holdingOf(found: FoundCertificate[], current: FoundCertificate): Holding {
  if (found.some((c) => c.der.equals(current.der))) return { state: "current" };
  const same = found.find((c) => c.spki.equals(current.spki) && c.subject.equals(current.subject));
  if (same) return { state: "old", notAfter: new Date(same.x509.validTo).toISOString(), serial: same.x509.serialNumber };
  return found.length === 0 ? { state: "no-ca" } : { state: "other-key" };
}

/**
 * Reads every file of `ca`'s trust locations under `root` and says what each holds, compared with
 * `current` (the CA file's certificate, or the one about to replace it). Unreadable kubeconfigs
 * throw their one clear error (a renewal must not go on past them).
 */
export async function readHolders(root: string, ca: CaName, current: FoundCertificate): Promise<HeldFile[]> {
  const out: HeldFile[] = [];
  for (const f of filesOf(ca)) {
    const file = join(root, f.path);
    const base = { path: f.path, file, kind: f.kind, optional: f.optional };
    if (!(await exists(file))) {
      out.push({ ...base, holding: { state: "missing" } });
      continue;
    }
    if (f.kind === "ca-file") {
      const pem = await readText(file, "CA certificate");
      out.push({ ...base, holding: holdingOf(certificatesIn(pem, file), current), pem });
      continue;
    }
    const kubeconfig = await parseKubeconfig(await readText(file, "kubeconfig"), file, root);
    if (kubeconfig.caPem !== undefined) {
      out.push({ ...base, kubeconfig, holding: holdingOf(certificatesIn(kubeconfig.caPem, file), current), pem: kubeconfig.caPem });
    } else if (kubeconfig.caFile !== undefined) {
      const pem = (await exists(kubeconfig.caFile)) ? await readText(kubeconfig.caFile, "CA certificate") : "";
      out.push({ ...base, kubeconfig, byReference: kubeconfig.caFile, holding: holdingOf(certificatesIn(pem, kubeconfig.caFile), current), pem });
    } else {
      out.push({ ...base, kubeconfig, holding: { state: "no-ca" } });
    }
  }
  return out;
}

/** A location's holding for people. */
export function describeHolding(h: HeldFile): string {
  const via = h.byReference ? ` (through certificate-authority: ${h.byReference})` : "";
  switch (h.holding.state) {
    case "current": return `current certificate${via}`;
    case "old": return `OLD certificate, same key (serial ${h.holding.serial}, expires ${h.holding.notAfter})${via}`;
    case "other-key": return `a certificate of ANOTHER key: not this CA${via}`;
    case "missing": return h.optional ? "not on this host" : "MISSING";
    case "no-ca": return "no CA certificate (certificate-authority-data absent)";
  }
}
