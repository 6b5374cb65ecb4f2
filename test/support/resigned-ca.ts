// A sandbox CA re-signed with its own key, valid over a chosen window: a renewed CA (the same key
// and subject, a new serial), or one that has expired, for the tests of the CA's cluster side.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KeyObject } from "node:crypto";
import { LAYOUT } from "../../src/inventory/catalog.js";
import { parseCertificatePem, parsePrivateKeyPem, type Certificate } from "../../src/pki/pem.js";
import { resignCa, type Resigned } from "../../src/ca/resign.js";
import { DAY_MS } from "../../src/policy/age.js";

/** A CA's certificate and key under `root` (base: "ca", "front-proxy-ca", "etcd/ca"). */
export async function caMaterial(root: string, base = "ca"): Promise<{ cert: Certificate; key: KeyObject; pem: string }> {
  const crt = join(root, LAYOUT.pkiDir, `${base}.crt`);
  const pem = await readFile(crt, "utf8");
  return { cert: parseCertificatePem(pem, crt), key: parsePrivateKeyPem(await readFile(join(root, LAYOUT.pkiDir, `${base}.key`), "utf8"), `${base}.key`), pem };
}

/** The CA `base` under `root` re-signed with its key; `expiredDaysAgo` makes one whose NotAfter has passed. */
export async function resignedCa(root: string, o: { base?: string; expiredDaysAgo?: number } = {}): Promise<Resigned> {
  const { cert, key } = await caMaterial(root, o.base);
  if (o.expiredDaysAgo === undefined) return resignCa({ old: cert, key, name: o.base ?? "ca", now: new Date(), validityDays: 3650 });
  // Valid for one day that ended `expiredDaysAgo` days ago (NotBefore is backdated a further 24 h).
  return resignCa({ old: cert, key, name: o.base ?? "ca", now: new Date(Date.now() - (o.expiredDaysAgo + 1) * DAY_MS), validityDays: 1 });
}
