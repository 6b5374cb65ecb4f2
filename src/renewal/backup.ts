import { mkdir, open, readFile, readdir, rm, stat, chmod } from "node:fs/promises";
import { createHash } from "node:crypto";
import { dirname, join, relative, isAbsolute, resolve } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";
import { writeFileAtomic, fsyncDir, type AtomicWriteOptions } from "../util/atomic.js";

/** One file in a backup: its path relative to --root, and what it was. */
export interface BackedUpFile {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  sha256: string;
}

/** backup.json: what a backup holds. */
export interface BackupIndex {
  created: string;
  reason: string;
  files: BackedUpFile[];
}

/** sha256 of bytes, hex. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A backup directory name from a time: 20261128T021500.123Z (sorts by time). */
export function backupName(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "");
}

/**
 * Copies `files` (absolute paths under `root`; missing ones are skipped) to
 * `<backupDir>/<UTC time>/`, mode 0700, with a backup.json index; keeps the newest `keep`.
 */
export async function createBackup(root: string, backupDir: string, files: string[], now: Date, reason: string, keep = 10): Promise<string> {
  let dir = join(backupDir, backupName(now));
  for (let i = 1; await exists(dir); i++) dir = join(backupDir, `${backupName(now)}-${i}`);
  const index: BackupIndex = { created: now.toISOString(), reason, files: [] };
  try {
    await mkdir(backupDir, { recursive: true, mode: 0o700 });
    await mkdir(dir, { mode: 0o700 });
    await chmod(dir, 0o700);
    const copies: { target: string; data: Buffer }[] = [];
    for (const file of [...new Set(files)]) {
      let data: Buffer;
      let s;
      try {
        data = await readFile(file);
        s = await stat(file);
      } catch (e) {
        if (isErrno(e, "ENOENT")) continue;
        throw fileError(e, file, "file to back up");
      }
      const rel = relative(root, file);
      if (rel.startsWith("..") || isAbsolute(rel)) throw new RenewCertsError("INTERNAL", `${file} is outside the root ${root}`);
      copies.push({ target: join(dir, "files", rel), data });
      index.files.push({ path: rel, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, sha256: sha256(data) });
    }
    // Durable before the intent record points at it: a restore after a power cut needs these bytes.
    for (const d of new Set(copies.map((c) => dirname(c.target)))) await mkdir(d, { recursive: true, mode: 0o700 });
    await Promise.all(copies.map(async (c) => {
      const fh = await open(c.target, "wx", 0o600);
      try {
        await fh.writeFile(c.data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }));
    for (const d of new Set(copies.map((c) => dirname(c.target)))) await fsyncDir(d);
    await writeFileAtomic(join(dir, "backup.json"), JSON.stringify(index, null, 2) + "\n", { mode: 0o600, what: "backup index" });
    await fsyncDir(backupDir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined); // no half backups
    throw e instanceof RenewCertsError ? e : fileError(e, dir, "backup directory");
  }
  await pruneBackups(backupDir, keep);
  return dir;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** The backups in `backupDir`, oldest first (names sort by time). */
export async function listBackups(backupDir: string): Promise<string[]> {
  const names = await readdir(backupDir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names.sort()) if (await exists(join(backupDir, n, "backup.json"))) out.push(join(backupDir, n));
  return out;
}

/** Removes all but the newest `keep` backups. */
export async function pruneBackups(backupDir: string, keep: number): Promise<void> {
  const all = await listBackups(backupDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(old, { recursive: true, force: true });
}

/** Reads a backup's index; `which` is a directory, a name under `backupDir`, or "latest". */
export async function openBackup(backupDir: string, which: string): Promise<{ dir: string; index: BackupIndex }> {
  let dir = which;
  if (which === "latest") {
    const all = await listBackups(backupDir);
    if (all.length === 0) throw new RenewCertsError("USAGE", `no backups in ${backupDir}`, { file: backupDir });
    dir = all[all.length - 1]!;
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
    if (isErrno(e, "ENOENT")) throw new RenewCertsError("USAGE", `${dir} is not a renew-certs backup (no backup.json): list them with ls ${backupDir}`, { file: dir });
    throw fileError(e, indexFile, "backup index");
  }
  try {
    return { dir, index: JSON.parse(text) as BackupIndex };
  } catch (cause) {
    throw new RenewCertsError("IO", `backup index ${indexFile} is corrupt: choose another backup`, { file: indexFile, cause });
  }
}

/**
 * Puts every file of a backup back under `root`, atomically, with its mode and owner; checks
 * each file's sha256 first so that a damaged backup is refused before anything is written.
 */
export async function restoreFiles(root: string, dir: string, index: BackupIndex, onStep?: AtomicWriteOptions["onStep"]): Promise<string[]> {
  const contents: Buffer[] = [];
  for (const f of index.files) {
    const data = await readFile(join(dir, "files", f.path)).catch((e: unknown) => { throw fileError(e, join(dir, "files", f.path), "backed-up file"); });
    if (sha256(data) !== f.sha256) throw new RenewCertsError("IO", `backup ${dir} is damaged: ${f.path} does not match its recorded checksum; nothing was restored`, { file: join(dir, "files", f.path) });
    contents.push(data);
  }
  const restored: string[] = [];
  for (const [i, f] of index.files.entries()) {
    const target = join(root, f.path);
    const current = await readFile(target).catch(() => undefined);
    if (current && sha256(current) === f.sha256) {
      const s = await stat(target);
      if ((s.mode & 0o7777) === f.mode) continue;
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFileAtomic(target, contents[i]!, { mode: f.mode, owner: { uid: f.uid, gid: f.gid }, what: "restored file", ...(onStep ? { onStep } : {}) });
    restored.push(target);
  }
  return restored;
}
