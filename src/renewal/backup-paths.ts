import { lstatSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { RenewCertsError } from "../errors.js";
import { isInside, realPathOf } from "../util/fs.js";
import type { BackedUpFile, BackupIndex } from "./backup.js";

// A backup's index is input like any other: whoever can write it must not get renew-certs, which
// runs as root, to write outside --root (a "../" path, an absolute one, a directory that became a
// symbolic link leading out) or to create set-user-ID files. Every entry is checked before the
// first file is restored. A backup holds only what renew-certs backs up (the control plane's files
// under etc/kubernetes, the kubelet's under var/lib/kubelet, /root/.kube/config), a link's recorded
// target is where its text leads, and a key-holding file never comes back readable by others.

function refuse(dir: string, why: string): never {
  throw new RenewCertsError("BACKUP", `backup ${dir} is refused: its backup.json ${why}; nothing was restored: choose another backup (renew-certs restore --list)`, { file: join(dir, "backup.json") });
}

/** Why `p` is not a plain relative path (no leading /, no empty, "." or ".." parts), or undefined. */
function pathProblem(p: unknown): string | undefined {
  if (typeof p !== "string" || p === "") return "is not a path";
  if (p.includes("\0")) return "holds a NUL byte";
  if (p.startsWith("/")) return "is absolute";
  if (p.split("/").some((part) => part === "" || part === "." || part === "..")) return "has an empty, . or .. part";
  return undefined;
}

/** Where a restore writes `rel`: its directory resolved through every link, then its own name. */
function landing(root: string, rel: string): string {
  const file = join(root, rel);
  return join(realPathOf(dirname(file)), basename(file));
}

function checkPlace(dir: string, root: string, realRoot: string, rel: unknown, what: string): void {
  const problem = pathProblem(rel);
  if (problem) refuse(dir, `names ${what} ${JSON.stringify(rel)}, which ${problem}`);
  const lands = landing(root, rel as string);
  if (!isInside(realRoot, lands) || lands === realRoot) refuse(dir, `names ${what} ${JSON.stringify(rel)}, which leads to ${lands}, outside --root ${root} (through a symbolic link)`);
}

/** What renew-certs backs up, relative to --root: nothing else is ever restored. */
const BACKED_UP = [/^etc\/kubernetes\//, /^var\/lib\/kubelet\//, /^root\/\.kube\/config$/];

/** Files that hold a private key (keys, kubeconfigs, the kubelet's certificate-and-key files). */
function holdsKey(rel: string): boolean {
  return /\.(key|conf|pem)$/.test(rel) || rel === "root/.kube/config";
}

/** Where a link at `rel` with `text` leads (its directory resolved through links), relative to realRoot. */
function leadsTo(root: string, realRoot: string, rel: string, text: string): string {
  const lands = landing(root, rel);
  const to = resolve(dirname(lands), text);
  let real: string;
  try {
    real = realpathSync(to); // through a chain of links, as the backup recorded it
  } catch {
    real = join(realPathOf(dirname(to)), basename(to));
  }
  return real.startsWith(realRoot + "/") ? real.slice(realRoot.length + 1) : real;
}

/** Whether `file` is a regular file holding PEM data or a kubeconfig now (what a link's target can be). */
function holdsPemOrKubeconfig(file: string): boolean {
  try {
    if (!lstatSync(file).isFile()) return false;
    const head = readFileSync(file, { encoding: "utf8" }).slice(0, 65536);
    return /^-----BEGIN [A-Z0-9 ]+-----$/m.test(head) || (/^kind: *Config\s*$/m.test(head) && /^users:/m.test(head));
  } catch {
    return false;
  }
}

function isId(n: unknown): boolean {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

/** Checks one entry's fields; returns it typed. */
function checkEntry(dir: string, root: string, realRoot: string, f: unknown, i: number): BackedUpFile {
  if (typeof f !== "object" || f === null) refuse(dir, `entry ${i} is not an object`);
  const e = f as Partial<BackedUpFile>;
  checkPlace(dir, root, realRoot, e.path, "the file");
  if (!BACKED_UP.some((r) => r.test(e.path as string))) refuse(dir, `names the file ${JSON.stringify(e.path)}, which renew-certs never backs up (only etc/kubernetes/, var/lib/kubelet/ and root/.kube/config)`);
  if (!Number.isInteger(e.mode) || e.mode! < 0 || e.mode! > 0o7777) refuse(dir, `gives ${e.path} no valid mode`);
  if (e.mode! & 0o7000) refuse(dir, `gives ${e.path} the mode ${e.mode!.toString(8)} (set-user-ID, set-group-ID or sticky), which no certificate, key, kubeconfig or manifest has`);
  if (!isId(e.uid) || !isId(e.gid)) refuse(dir, `gives ${e.path} no valid owner`);
  if (typeof e.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.sha256)) refuse(dir, `gives ${e.path} no valid sha256`);
  if (e.link !== undefined) {
    if (typeof e.link !== "object" || e.link === null || typeof e.link.text !== "string" || e.link.text === "" || e.link.text.includes("\0")) refuse(dir, `gives the link ${e.path} no valid text`);
    checkPlace(dir, root, realRoot, e.link.target, `the link target of ${e.path}`);
    const leads = leadsTo(root, realRoot, e.path!, e.link.text);
    if (leads !== e.link.target) refuse(dir, `gives the link ${e.path} the text ${JSON.stringify(e.link.text)}, which leads to ${leads}, not to its recorded target ${e.link.target}`);
    // A target elsewhere is written only where the link leads now too: a backup does not choose where bytes land.
    if (!BACKED_UP.some((r) => r.test(e.link!.target))) {
      let now: string | undefined;
      try {
        now = leadsTo(root, realRoot, e.path!, readlinkSync(join(root, e.path!)));
      } catch {
        now = undefined;
      }
      if (now !== e.link.target && !holdsPemOrKubeconfig(join(realRoot, e.link.target))) refuse(dir, `restores the link ${e.path} to ${e.link.target}, which is neither where ${e.path} leads now (${now ?? "it is no symbolic link"}) nor a certificate, key or kubeconfig: put that link back by hand first`);
    }
  }
  // A key-holding file never comes back readable or writable by others (a backup taken before the renewal narrowed it may say 0644).
  if (holdsKey(e.path!)) return { ...(e as BackedUpFile), mode: e.mode! & ~0o077 };
  return e as BackedUpFile;
}

/**
 * Checks a backup's index before anything is restored under `root`: every path relative and
 * plain, landing inside --root through any symbolic link, with a sane mode and owner. Throws
 * BACKUP naming the backup and the entry.
 */
export function checkBackupIndex(root: string, dir: string, index: unknown): BackupIndex {
  if (typeof index !== "object" || index === null || !Array.isArray((index as BackupIndex).files)) refuse(dir, "lists no files");
  const realRoot = realpathSync(root);
  const files = (index as BackupIndex).files.map((f, i) => checkEntry(dir, root, realRoot, f, i));
  return { ...(index as BackupIndex), files };
}
