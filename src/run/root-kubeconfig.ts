import { lstat, readFile, readdir } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import { LAYOUT } from "../inventory/catalog.js";
import type { Logger } from "../log/logger.js";
import { fileError, isErrno } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";

/** What happens to /root/.kube/config after a renewal. */
export type RootKubeconfigAction =
  | "absent" // no such file
  | "symlink" // a link (usually to admin.conf): it follows the renewed file by itself
  | "up-to-date" // already holds the new credentials
  | "replace" // a byte-identical copy of the old admin.conf: becomes the new one
  | "update-credentials" // another kubeconfig holding the old admin client certificate: those users get the new one
  | "unrelated"; // anything else: left alone

/** The plan for /root/.kube/config: what to do, the new content when writing, and what to tell people. */
export interface RootKubeconfigPlan {
  file: string;
  action: RootKubeconfigAction;
  /** The new file content, for "replace" and "update-credentials". */
  content: string | undefined;
  message: string;
}

/** What the planner needs to know (all text, no file system). */
export interface RootKubeconfigInput {
  file: string;
  /** The file's text; undefined when it does not exist. */
  current: string | undefined;
  symlink: boolean;
  /** admin.conf as it was before the renewal, and as it is now. */
  oldAdmin: string;
  newAdmin: string;
}

interface Credentials {
  fingerprint: string;
  certData: string;
  keyData: string;
}

/** The fingerprint of a base64 PEM certificate field, or undefined when it is not one. */
function fingerprintOf(data: unknown): string | undefined {
  if (typeof data !== "string") return undefined;
  try {
    return new X509Certificate(Buffer.from(data, "base64")).fingerprint256;
  } catch {
    return undefined;
  }
}

/** The embedded client credentials of every user of a kubeconfig text (unparseable: none). */
function usersOf(text: string): { index: number; creds: Credentials | undefined }[] {
  const doc = parseDocument(text);
  const users = doc.errors.length === 0 ? doc.get("users") : undefined;
  if (!isSeq(users)) return [];
  return users.items.map((item, index) => {
    const user = isMap(item) ? item.get("user") : undefined;
    if (!isMap(user)) return { index, creds: undefined };
    const certData = user.get("client-certificate-data");
    const keyData = user.get("client-key-data");
    const fingerprint = fingerprintOf(certData);
    return { index, creds: fingerprint && typeof keyData === "string" ? { fingerprint, certData: certData as string, keyData } : undefined };
  });
}

/** The embedded admin credentials of an admin.conf text (the first user with a certificate). */
function adminCredentials(text: string): Credentials | undefined {
  return usersOf(text).find((u) => u.creds)?.creds;
}

/** True when `text` holds a user with the client certificate of fingerprint `fp`. */
export function holdsCertificate(text: string, fp: string): boolean {
  return usersOf(text).some((u) => u.creds?.fingerprint === fp);
}

/** Decides what to do with /root/.kube/config after admin.conf was renewed. Pure. */
export function planRootKubeconfig(i: RootKubeconfigInput): RootKubeconfigPlan {
  const plan = (action: RootKubeconfigAction, message: string, content?: string): RootKubeconfigPlan => ({ file: i.file, action, content, message });
  if (i.current === undefined) return plan("absent", `${i.file} does not exist: nothing to refresh`);
  if (i.symlink) return plan("symlink", `${i.file} is a symbolic link: it follows the renewed file by itself`);
  if (i.current === i.newAdmin) return plan("up-to-date", `${i.file} already holds the renewed admin.conf`);
  if (i.current === i.oldAdmin) return plan("replace", `${i.file} was a copy of admin.conf: replaced with the renewed admin.conf`, i.newAdmin);
  const oldCreds = adminCredentials(i.oldAdmin);
  const newCreds = adminCredentials(i.newAdmin);
  if (!oldCreds || !newCreds || oldCreds.fingerprint === newCreds.fingerprint) return plan("unrelated", `${i.file} does not hold admin.conf's old client certificate: left alone`);
  const matches = usersOf(i.current).filter((u) => u.creds?.fingerprint === oldCreds.fingerprint);
  if (matches.length === 0) return plan("unrelated", `${i.file} does not hold admin.conf's old client certificate: left alone`);
  const doc = parseDocument(i.current);
  for (const m of matches) {
    doc.setIn(["users", m.index, "user", "client-certificate-data"], newCreds.certData);
    doc.setIn(["users", m.index, "user", "client-key-data"], newCreds.keyData);
  }
  return plan("update-credentials", `${i.file} held admin.conf's old client certificate: its ${matches.length === 1 ? "user gets" : `${matches.length} users get`} the renewed one, everything else kept`, doc.toString({ lineWidth: 0, indentSeq: !/^users:\r?\n- /m.test(i.current) }));
}

async function readState(file: string): Promise<{ current: string | undefined; symlink: boolean }> {
  try {
    const symlink = (await lstat(file)).isSymbolicLink();
    return { current: await readFile(file, "utf8"), symlink };
  } catch (e) {
    if (isErrno(e, "ENOENT")) return { current: undefined, symlink: false };
    throw fileError(e, file, "kubeconfig");
  }
}

/** Other people's copies under /home/<user>/.kube/config that still hold the old certificate (never changed). */
async function staleHomeCopies(root: string, oldAdmin: string): Promise<string[]> {
  const fp = adminCredentials(oldAdmin)?.fingerprint;
  if (!fp) return [];
  let homes: string[];
  try {
    homes = await readdir(join(root, "home"));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const h of homes.sort()) {
    const file = join(root, "home", h, ".kube/config");
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text !== undefined && holdsCertificate(text, fp)) out.push(file);
  }
  return out;
}

/** Options of refreshRootKubeconfig. */
export interface RefreshOptions {
  root: string;
  /** admin.conf's text before the renewal (from the backup or read before renewing). */
  oldAdmin: string;
  /** admin.conf's text after the renewal; default: read from disk. */
  newAdmin?: string;
  /** Valid-until of the old admin client certificate, for the warning about other copies. */
  oldNotAfter?: Date;
  log: Logger;
  dryRun?: boolean;
}

/**
 * Refreshes /root/.kube/config (under `root`) when it held the old admin.conf's client
 * certificate, written atomically with its mode and owner kept; warns about other copies, which
 * are left alone. Returns the plan that was applied.
 */
export async function refreshRootKubeconfig(o: RefreshOptions): Promise<RootKubeconfigPlan> {
  const file = join(o.root, LAYOUT.rootKubeconfig);
  const adminFile = join(o.root, LAYOUT.kubernetesDir, "admin.conf");
  const newAdmin = o.newAdmin ?? (await readFile(adminFile, "utf8").catch((e: unknown) => { throw fileError(e, adminFile, "kubeconfig"); }));
  const plan = planRootKubeconfig({ file, ...(await readState(file)), oldAdmin: o.oldAdmin, newAdmin });
  if (plan.content !== undefined && !o.dryRun) await writeFileAtomic(file, plan.content, { what: "kubeconfig" });
  o.log.info(o.dryRun && plan.content !== undefined ? `dry run: ${plan.message}` : plan.message, { file, action: plan.action });
  const until = o.oldNotAfter ? ` (it stays valid until ${o.oldNotAfter.toISOString()})` : "";
  for (const copy of await staleHomeCopies(o.root, o.oldAdmin)) {
    o.log.warn(`${copy} holds admin.conf's old client certificate${until}: copy the renewed /etc/kubernetes/admin.conf there`, { file: copy });
  }
  // Advice, not a finding: nothing here shows that such copies exist (the ones found are warned about above).
  o.log.info(`copies of admin.conf elsewhere (workstations, CI systems) hold the old client certificate${until}: fetch /etc/kubernetes/admin.conf again`);
  return plan;
}
