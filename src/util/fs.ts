import { lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { lstat, mkdir } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";

// The files read here are small (certificates, kubeconfigs, manifests, the config file) and a
// command reads a few dozen of them: the synchronous calls take microseconds each, where the
// promise API pays a thread-pool round trip per step. The functions stay async for their callers.

/** Reads a UTF-8 file; every failure becomes a RenewCertsError naming the file. */
export async function readText(file: string, what: string): Promise<string> {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw fileError(e, file, what);
  }
}

/** True when `file` exists (as anything); permission errors are raised, not hidden. */
export async function exists(file: string): Promise<boolean> {
  try {
    return statSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch (e) {
    if (isErrno(e, "ENOTDIR")) return false;
    throw fileError(e, file, "file");
  }
}

/** Checks that --root is an existing directory. */
export async function checkRoot(root: string): Promise<void> {
  try {
    const s = statSync(root);
    if (!s.isDirectory()) throw new RenewCertsError("ROOT", `root ${root} is not a directory: pass the directory that holds etc/kubernetes with --root`, { file: root });
  } catch (e) {
    if (e instanceof RenewCertsError) throw e;
    if (isErrno(e, "ENOENT")) throw new RenewCertsError("ROOT", `root ${root} does not exist: pass the directory that holds etc/kubernetes with --root`, { file: root });
    throw fileError(e, root, "root directory");
  }
}

/** Where a write to a file lands. */
export interface WriteTarget {
  /** The file as named. */
  file: string;
  /** Where its bytes go: `file` itself, or the end of its chain of symbolic links. */
  target: string;
  /** The link's text when `file` is a symbolic link, else undefined. */
  linkText: string | undefined;
}

/**
 * Where writing `file` lands, as kubeadm writes (through symbolic links). A dangling link or a
 * loop is a RenewCertsError naming the link: nothing may be created at an unknown place.
 */
export function writeTargetOf(file: string, what: string): WriteTarget {
  try {
    if (!lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) return { file, target: file, linkText: undefined };
    const linkText = readlinkSync(file);
    return { file, target: realpathSync(file), linkText };
  } catch (e) {
    throw fileError(e, file, what);
  }
}

/** True when `p` is `dir` or inside it (both absolute and already resolved). */
export function isInside(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel === "" || (rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel));
}

/**
 * The real place of `p`, as the kernel would reach it once the missing parts were created: its
 * existing part resolved through every symbolic link (dangling ones followed by their text).
 */
export function realPathOf(p: string): string {
  let cur = resolve(p);
  const rest: string[] = [];
  for (let hops = 0; hops < 40; ) {
    try {
      return join(realpathSync(cur), ...rest);
    } catch (e) {
      if (!isErrno(e, "ENOENT") && !isErrno(e, "ENOTDIR")) throw e;
    }
    let link = false;
    try {
      link = lstatSync(cur, { throwIfNoEntry: false })?.isSymbolicLink() === true;
    } catch {
      // ENOTDIR: a file where a directory belongs; the caller's write reports it
    }
    if (link) {
      cur = resolve(dirname(cur), readlinkSync(cur)); // dangling: where its creation would land
      hops++;
      continue;
    }
    if (dirname(cur) === cur) break;
    rest.unshift(basename(cur));
    cur = dirname(cur);
  }
  throw new RenewCertsError("LINK", `${p} leads through too many symbolic links (a loop?): replace them with the directories or files`, { file: p });
}

/** Creates `dir` and its missing parents one by one, so that ENOSPC is reported as itself (a recursive mkdir says ENOENT). */
export async function mkdirs(dir: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); !(await lstat(d).then(() => true, () => false)); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    await mkdir(d, mode === undefined ? undefined : { mode }).catch((e: unknown) => {
      if (!isErrno(e, "EEXIST")) throw fileError(e, d, "directory");
    });
  }
}
