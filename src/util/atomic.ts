import { open, readdir, rename, stat, lstat, chown, unlink, symlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileError, isErrno } from "../errors.js";
import { writeTargetOf } from "./fs.js";

/** Options of an atomic write. */
export interface AtomicWriteOptions {
  /** Mode of the new file; default: the old file's mode, else 0600. */
  mode?: number;
  /** Keep the old file's owner (default true). */
  keepOwner?: boolean;
  /** Set this owner instead of the old file's (restoring a backup). */
  owner?: { uid: number; gid: number };
  /**
   * Write through a symbolic link to its target, keeping the link (default true, as kubeadm
   * does); false replaces whatever is at the path itself (restoring a backup's regular file).
   */
  followLinks?: boolean;
  /** What the file is, for error messages ("certificate", "manifest"). */
  what?: string;
  /** Called after each durable step ("temp-written", "renamed", "dir-synced"): fault injection in tests. */
  onStep?: (step: "temp-written" | "renamed" | "dir-synced", file: string) => void;
}

/** fsyncs a directory, so that a rename in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The temporary name for `file`: in the same directory and always a dot-file, because the kubelet
 * runs every non-hidden file in the manifests directory.
 */
export function tempNameFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.renew-certs-${randomBytes(4).toString("hex")}.tmp`);
}

/** A temporary file written and fsynced beside its target, ready to be renamed over it. */
interface Prepared {
  /** The path as the caller named it (a link, or the file). */
  file: string;
  /** Where the rename happens: the file, or the link's target. */
  target: string;
  tmp: string;
  what: string;
}

/** Writes, fsyncs and chowns the temporary file for one atomic write, beside its target. */
async function prepare(file: string, content: string | Uint8Array, o: AtomicWriteOptions): Promise<Prepared> {
  const what = o.what ?? "file";
  const follow = o.followLinks !== false;
  // A link's target is replaced, not the link: readers of either path see the new bytes.
  const target = follow ? writeTargetOf(file, what).target : file;
  let old: { mode: number; uid: number; gid: number } | undefined;
  try {
    const s = follow ? await stat(target) : await lstat(target);
    if (!s.isSymbolicLink()) old = { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
  } catch (e) {
    if (!isErrno(e, "ENOENT")) throw fileError(e, file, what);
  }
  const mode = o.mode ?? old?.mode ?? 0o600;
  const tmp = tempNameFor(target);
  try {
    const fh = await open(tmp, "wx", mode);
    try {
      await fh.writeFile(content);
      await fh.chmod(mode); // the umask may have narrowed the mode given to open
      await fh.sync();
    } finally {
      await fh.close();
    }
    const owner = o.owner ?? (o.keepOwner !== false ? old : undefined);
    if (owner) await chown(tmp, owner.uid, owner.gid);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw fileError(e, target, what);
  }
  o.onStep?.("temp-written", file);
  return { file, target, tmp, what };
}

/**
 * Writes `content` to `file` atomically: a temporary dot-file in the same directory, fsync,
 * rename over the old file, fsync of the directory. Mode and owner of the old file are kept; a
 * symbolic link stays a link and its target gets the bytes (the temporary file is in the target's
 * directory, so that the rename never crosses file systems).
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array, o: AtomicWriteOptions = {}): Promise<void> {
  await writeFilesAtomic([{ file, content, options: o }], o.onStep);
}

/** One file of writeFilesAtomic. */
export interface AtomicWrite {
  file: string;
  content: string | Uint8Array;
  options?: Omit<AtomicWriteOptions, "onStep">;
}

/**
 * Writes several files atomically, each as writeFileAtomic does, faster: every temporary file is
 * written and fsynced at once, then the renames happen one by one in the order given (so a reader
 * sees a key before its certificate), then each directory is fsynced once. A failure before the
 * renames leaves every file as it was; callers that need all-or-nothing across the renames keep an
 * intent record (renewal/intent.ts).
 */
export async function writeFilesAtomic(writes: readonly AtomicWrite[], onStep?: AtomicWriteOptions["onStep"]): Promise<void> {
  const results = await Promise.allSettled(writes.map((w) => prepare(w.file, w.content, { ...w.options, ...(onStep ? { onStep } : {}) })));
  const prepared = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  let next = 0;
  try {
    if (failed) throw failed.reason;
    for (; next < prepared.length; next++) {
      const p = prepared[next]!;
      try {
        await rename(p.tmp, p.target);
      } catch (e) {
        throw fileError(e, p.target, p.what);
      }
      onStep?.("renamed", p.file);
    }
  } catch (e) {
    await Promise.all(prepared.slice(next).map((p) => unlink(p.tmp).catch(() => undefined)));
    throw e;
  }
  for (const dir of new Set(prepared.map((p) => dirname(p.target)))) {
    await fsyncDir(dir).catch((e: unknown) => { throw fileError(e, dir, "directory"); });
    onStep?.("dir-synced", dir);
  }
}

/**
 * Makes `file` a symbolic link holding `text`, atomically (a temporary link renamed over the
 * path, then the directory fsynced): restoring a backup puts links back as links.
 */
export async function writeLinkAtomic(file: string, text: string, what = "symbolic link"): Promise<void> {
  const tmp = tempNameFor(file);
  try {
    await symlink(text, tmp);
    await rename(tmp, file);
    await fsyncDir(dirname(file));
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw fileError(e, file, what);
  }
}

/** Removes temporary files an interrupted atomic write left in `dir` (they are dot-files). */
export async function removeStrayTemps(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stray = names.filter((n) => /^\..+\.renew-certs-[0-9a-f]{8}\.tmp$/.test(n)).map((n) => join(dir, n));
  await Promise.all(stray.map((f) => unlink(f).catch(() => undefined)));
  return stray;
}

/**
 * Removes the temporary files interrupted writes of `files` may have left: beside each file and,
 * for a symbolic link, beside its target (where writeFileAtomic puts them).
 */
export async function removeStrayTempsOf(files: readonly string[]): Promise<string[]> {
  const dirs = new Set<string>();
  for (const f of files) {
    dirs.add(dirname(f));
    try {
      dirs.add(dirname(writeTargetOf(f, "file").target));
    } catch {
      // a dangling link has no temporary file beside a target
    }
  }
  return (await Promise.all([...dirs].map(removeStrayTemps))).flat();
}
