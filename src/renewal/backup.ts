import { lstat, mkdir, open, readFile, readlink, rm, stat, chmod } from "node:fs/promises";
import { constants, realpathSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, relative, isAbsolute, resolve } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";
import { mkdirs } from "../util/fs.js";
import { LAYOUT } from "../inventory/catalog.js";
import { writeFileAtomic, writeLinkAtomic, fsyncDir, type AtomicWriteOptions } from "../util/atomic.js";
import { isInside, realPathOf, writeTargetOf } from "../util/fs.js";
import { backupsInUse, listBackupEntries, nextSequence, pruneBackups } from "./backup-list.js";
import { checkBackupIndex } from "./backup-paths.js";

/**
 * One file in a backup: its path relative to --root, and what it was. For a symbolic link, the
 * link's text and its target (relative to --root) are recorded, and mode, owner and sha256 are
 * the target's: a restore puts back the link and the bytes it leads to.
 */
export interface BackedUpFile {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  sha256: string;
  link?: { text: string; target: string };
}

/** backup.json: what a backup holds. */
export interface BackupIndex {
  created: string;
  /** Creation order among the backups of this directory (1, 2, …); absent in older backups. */
  sequence?: number;
  reason: string;
  files: BackedUpFile[];
}

/** Options of createBackup. */
export interface BackupOptions {
  /** How many backups to keep (default 10); the one just made is always kept. */
  keep?: number;
  /** More backups pruning must not remove (those the state records name are added by themselves). */
  protect?: readonly string[];
}

/** sha256 of bytes, hex. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A backup directory name from a time: 20261128T021500.123Z (for people; order is by sequence). */
export function backupName(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "");
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

/** Reads one file for the backup, through a symbolic link when it is one; undefined when missing. */
async function capture(realRoot: string, root: string, file: string): Promise<{ entry: BackedUpFile; data: Buffer } | undefined> {
  let s;
  try {
    s = await lstat(file);
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw fileError(e, file, "file to back up");
  }
  const rel = relative(root, file);
  if (rel.startsWith("..") || isAbsolute(rel) || !isInside(realRoot, realPathOf(dirname(file)))) {
    throw new RenewCertsError("LINK", `${file} lies outside --root ${root} (through a symbolic link): renew-certs backs up and writes only under --root`, { file });
  }
  let link: BackedUpFile["link"];
  if (s.isSymbolicLink()) {
    // A dangling link holds no bytes to lose (a renewal refuses one before this; a restore replaces it).
    if (await stat(file).then(() => false, (e: unknown) => isErrno(e, "ENOENT"))) return undefined;
    const target = writeTargetOf(file, "file to back up").target;
    if (!isInside(realRoot, target)) throw new RenewCertsError("LINK", `${file} is a symbolic link to ${target}, outside --root ${root}: renew-certs backs up and writes only under --root`, { file });
    link = { text: await readlink(file), target: relative(realRoot, target) };
  }
  try {
    const data = await readFile(file);
    const t = await stat(file);
    return { entry: { path: rel, mode: t.mode & 0o7777, uid: t.uid, gid: t.gid, sha256: sha256(data), ...(link ? { link } : {}) }, data };
  } catch (e) {
    throw fileError(e, file, "file to back up");
  }
}

/** Reads a backed-up copy, refusing a symbolic link in its place (the backup holds bytes, not links). */
async function readCopy(dir: string, rel: string): Promise<Buffer> {
  const file = join(dir, "files", rel);
  try {
    if (!isInside(realpathSync(dir), realPathOf(dirname(file)))) throw new RenewCertsError("BACKUP", `backup ${dir} is refused: ${file} leads outside it through a symbolic link; nothing was restored`, { file });
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw fileError(e, file, "backed-up file");
  }
}

/** Re-reads a backup just written and checks every checksum: a backup is trusted only once read back. */
async function verifyBackup(dir: string, index: BackupIndex): Promise<void> {
  const text = await readFile(join(dir, "backup.json"), "utf8");
  if (text !== JSON.stringify(index, null, 2) + "\n") throw new RenewCertsError("IO", `backup ${dir} reads back a different backup.json: check the disk under ${dirname(dir)}; nothing was changed`, { file: dir });
  for (const f of index.files) {
    if (sha256(await readCopy(dir, f.path)) !== f.sha256) throw new RenewCertsError("IO", `backup ${dir} reads back different bytes for ${f.path}: check the disk under ${dirname(dir)}; nothing was changed`, { file: dir });
  }
}

/**
 * Copies `files` (absolute paths under `root`; missing ones are skipped) to
 * `<backupDir>/<UTC time>/`, mode 0700, with a backup.json index carrying the next sequence
 * number; fsyncs it, reads it back, then prunes (see backupsToPrune).
 */
export async function createBackup(root: string, backupDir: string, files: string[], now: Date, reason: string, o: BackupOptions = {}): Promise<string> {
  const realRoot = realpathSync(root);
  const captured = [];
  for (const file of [...new Set(files)]) {
    const c = await capture(realRoot, root, file);
    if (c) captured.push(c);
  }
  await mkdirs(backupDir, 0o700);
  let dir = join(backupDir, backupName(now));
  for (let i = 1; await exists(dir); i++) dir = join(backupDir, `${backupName(now)}-${i}`);
  const index: BackupIndex = { created: now.toISOString(), sequence: nextSequence(await listBackupEntries(backupDir)), reason, files: captured.map((c) => c.entry) };
  try {
    await mkdir(dir, { mode: 0o700 }).catch((e: unknown) => { throw fileError(e, dir, "backup directory"); });
    await chmod(dir, 0o700);
    const copies = captured.map((c) => ({ target: join(dir, "files", c.entry.path), data: c.data }));
    // Durable before the intent record points at it: a restore after a power cut needs these bytes.
    for (const d of new Set(copies.map((c) => dirname(c.target)))) await mkdirs(d, 0o700);
    await Promise.all(copies.map(async (c) => {
      try {
        const fh = await open(c.target, "wx", 0o600);
        try {
          await fh.writeFile(c.data);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        throw fileError(e, c.target, "backup copy");
      }
    }));
    for (const d of new Set(copies.map((c) => dirname(c.target)))) await fsyncDir(d);
    await writeFileAtomic(join(dir, "backup.json"), JSON.stringify(index, null, 2) + "\n", { mode: 0o600, what: "backup index" });
    await fsyncDir(backupDir);
    await verifyBackup(dir, index);
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined); // no half backups
    throw e instanceof RenewCertsError ? e : fileError(e, dir, "backup directory");
  }
  const inUse = await backupsInUse(join(root, LAYOUT.stateDir));
  await pruneBackups(backupDir, o.keep ?? 10, [dir, ...inUse, ...(o.protect ?? [])], now);
  return dir;
}

/** Reads a backup's index; `which` is a directory, a name under `backupDir`, or "latest" (the last made). */
export async function openBackup(backupDir: string, which: string): Promise<{ dir: string; index: BackupIndex }> {
  let dir = which;
  if (which === "latest") {
    const all = await listBackupEntries(backupDir);
    if (all.length === 0) throw new RenewCertsError("USAGE", `no backups in ${backupDir}`, { file: backupDir });
    dir = all[all.length - 1]!.dir;
  } else if (!which.includes("/")) {
    dir = join(backupDir, which);
  } else {
    dir = resolve(which);
  }
  const indexFile = join(dir, "backup.json");
  let text: string;
  try {
    text = await readFile(indexFile, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT")) throw new RenewCertsError("USAGE", `${dir} is not a renew-certs backup (no backup.json): list them with renew-certs restore --list`, { file: dir });
    throw fileError(e, indexFile, "backup index");
  }
  try {
    return { dir, index: JSON.parse(text) as BackupIndex };
  } catch (cause) {
    throw new RenewCertsError("IO", `backup index ${indexFile} is corrupt: choose another backup`, { file: indexFile, cause });
  }
}

/** True when `file` is a regular file (not a link) holding `hash` with `mode`. */
async function holds(file: string, hash: string, mode: number): Promise<boolean> {
  try {
    const s = await lstat(file);
    return s.isFile() && (s.mode & 0o7777) === mode && sha256(await readFile(file)) === hash;
  } catch {
    return false;
  }
}

/** Every file of a backup, each checked against its recorded sha256: a damaged backup is refused whole. */
export async function readBackedUp(dir: string, index: BackupIndex): Promise<Buffer[]> {
  const contents: Buffer[] = [];
  for (const f of index.files) {
    const data = await readCopy(dir, f.path);
    if (sha256(data) !== f.sha256) throw new RenewCertsError("IO", `backup ${dir} is damaged: ${f.path} does not match its recorded checksum; nothing was restored: choose another backup (renew-certs restore --list)`, { file: join(dir, "files", f.path) });
    contents.push(data);
  }
  return contents;
}

/**
 * Puts every file of a backup back under `root`, atomically, with its mode and owner, and every
 * symbolic link as the link it was; checks each path (checkBackupIndex) and each sha256 first, so
 * that a damaged or hostile backup is refused before anything is written. Returns what changed.
 */
export async function restoreFiles(root: string, dir: string, index: BackupIndex, onStep?: AtomicWriteOptions["onStep"]): Promise<string[]> {
  const checked = checkBackupIndex(root, dir, index);
  const contents = await readBackedUp(dir, checked);
  const restored: string[] = [];
  for (const [i, f] of checked.files.entries()) {
    const file = join(root, f.path);
    // The bytes go where they were (a link's target), replacing whatever is there now, link or not.
    const home = f.link ? join(root, f.link.target) : file;
    let changed = false;
    if (!(await holds(home, f.sha256, f.mode))) {
      await mkdirs(dirname(home));
      await writeFileAtomic(home, contents[i]!, { mode: f.mode, owner: { uid: f.uid, gid: f.gid }, followLinks: false, what: "restored file", ...(onStep ? { onStep } : {}) });
      changed = true;
    }
    if (f.link && (await readlink(file).catch(() => undefined)) !== f.link.text) {
      await mkdirs(dirname(file));
      await writeLinkAtomic(file, f.link.text, "restored symbolic link");
      changed = true;
    }
    if (changed) restored.push(file);
  }
  return restored;
}
