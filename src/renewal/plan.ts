import { stat } from "node:fs/promises";
import type { Inventory, LeafEntry } from "../inventory/scan.js";
import { LEAF_NAMES } from "../inventory/catalog.js";
import { RenewCertsError } from "../errors.js";
import { withRenewedCredentials } from "../kubeconfig/kubeconfig.js";
import type { Reissued } from "./reissue.js";

/** One file a renewal writes. */
export interface FileWrite {
  path: string;
  content: string;
  mode: number | undefined;
  what: string;
  /** Set when the file receives a private key and its mode was wider than 0600: for the log. */
  note?: string;
}

/** A leaf that will not be renewed, and why (for people). */
export interface Skipped {
  name: string;
  reason: string;
  level: "info" | "warn";
}

/** Checks certificate names before anything is read: "all" or names from the catalog. */
export function checkNames(names: readonly string[]): void {
  if (names.length === 0) throw new RenewCertsError("USAGE", `say what to renew: all, or any of ${LEAF_NAMES.join(", ")}`);
  if (names.includes("all") && names.length > 1) throw new RenewCertsError("USAGE", "all takes no other names");
  const unknown = names.filter((n) => n !== "all" && !LEAF_NAMES.includes(n));
  if (unknown.length > 0) throw new RenewCertsError("USAGE", `unknown certificate ${unknown.join(", ")}: choose all or any of ${LEAF_NAMES.join(", ")}`);
}

/**
 * Chooses the leaves to renew: "all" or the given names. Externally managed and missing leaves
 * are skipped with a message in kubeadm's words; unknown names are a usage error.
 */
export function selectLeaves(inv: Inventory, names: readonly string[]): { selected: LeafEntry[]; skipped: Skipped[] } {
  checkNames(names);
  const all = names.length === 1 && names[0] === "all";
  if (!all) {
    const etcd = names.filter((n) => !inv.leaves.some((l) => l.spec.name === n));
    if (etcd.length > 0) throw new RenewCertsError("USAGE", `${etcd.join(", ")} not managed on this host (external etcd: there is no pki/etcd/ca.crt)`);
  }
  const wanted = inv.leaves.filter((l) => all || names.includes(l.spec.name));
  const selected: LeafEntry[] = [];
  const skipped: Skipped[] = [];
  for (const l of wanted) {
    if (l.missing) {
      skipped.push(l.spec.optional
        ? { name: l.spec.name, reason: `${l.spec.name} is not on this host (normal on every control-plane host but the first): skipped`, level: "info" }
        : { name: l.spec.name, reason: `${l.spec.name} is missing (${l.certFile}): skipped; kubeadm can recreate it (kubeadm init phase certs/kubeconfig)`, level: "warn" });
    } else if (l.externallyManaged) {
      skipped.push({ name: l.spec.name, reason: `external CA detected (${l.ca.spec.name} has no key): ${l.spec.longName} can't be renewed; renew it with the CA's owner`, level: "warn" });
    } else {
      selected.push(l);
    }
  }
  return { selected, skipped };
}

/** Mode of every file that receives a private key, whatever its mode was. */
const KEY_MODE = 0o600;

/** Adds a note to each write that narrows a file's mode to 0600 because it receives a key. */
async function noteNarrowed(writes: FileWrite[]): Promise<FileWrite[]> {
  for (const w of writes) {
    if (w.mode !== KEY_MODE) continue;
    const old = await stat(w.path).then((s) => s.mode & 0o777, () => undefined);
    if (old !== undefined && old !== KEY_MODE) {
      w.note = `${w.path} had mode 0${old.toString(8)}; it holds a private key, so it is written with mode 0600`;
    }
  }
  return writes;
}

/**
 * The writes that store one renewed leaf, in a safe order: key before certificate (a reader
 * that sees the new certificate then also finds its key); a kubeconfig is one write. Every file
 * that receives the private key is written 0600, whatever its mode was.
 */
export async function writesFor(r: Reissued): Promise<FileWrite[]> {
  const leaf = r.loaded.leaf;
  const kc = leaf.kubeconfig;
  if (!kc) {
    return noteNarrowed([
      { path: leaf.keyFile, content: r.keyPem, mode: KEY_MODE, what: "key" },
      { path: leaf.certFile, content: r.certPem, mode: undefined, what: "certificate" },
    ]);
  }
  const out: FileWrite[] = [];
  if (leaf.certFile !== kc.file && leaf.certFile === leaf.keyFile) {
    out.push({ path: leaf.certFile, content: r.certPem + r.keyPem, mode: KEY_MODE, what: "certificate and key" });
  } else {
    if (leaf.keyFile !== kc.file) out.push({ path: leaf.keyFile, content: r.keyPem, mode: KEY_MODE, what: "key" });
    if (leaf.certFile !== kc.file) out.push({ path: leaf.certFile, content: r.certPem, mode: undefined, what: "certificate" });
  }
  const text = await withRenewedCredentials(kc, r.certPem, r.keyPem, r.loaded.ca.pem);
  const caChanged = kc.caPem !== undefined && kc.caPem.trim() !== r.loaded.ca.pem.trim();
  if (leaf.certFile === kc.file || leaf.keyFile === kc.file || caChanged) {
    out.push({ path: kc.file, content: text, mode: leaf.keyFile === kc.file ? KEY_MODE : undefined, what: "kubeconfig" });
  }
  return noteNarrowed(out);
}
