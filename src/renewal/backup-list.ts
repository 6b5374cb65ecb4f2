import { readFile, readdir, rm, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";

// Backups are ordered by the sequence number each one records in its backup.json, never by the
// wall-clock name alone: a host whose clock was once ahead has backups "from the future", and
// ordering by name made every renewal prune the backup it had just written. Backups of versions
// that recorded no sequence come first, by name.

/** One backup directory, as listed. */
export interface BackupEntry {
  dir: string;
  name: string;
  /** Its place in creation order; undefined for backups that recorded none (older versions). */
  sequence: number | undefined;
  /** When it was made, by the clock of that moment (backup.json's `created`, else its name). */
  created: Date | undefined;
}

/** The time a backup name carries (20261128T021500.123Z, maybe with a -N suffix). */
export function timeOfName(name: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z(?:-\d+)?$/.exec(name);
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Oldest first: recorded sequence, then (for backups without one, which come first) the name. */
export function orderBackups(entries: readonly BackupEntry[]): BackupEntry[] {
  const key = (e: BackupEntry): number => e.sequence ?? -1;
  return [...entries].sort((a, b) => key(a) - key(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** True when the backup says it was made after `now`: the clock was ahead when it was made. */
export function isFutureDated(e: BackupEntry, now: Date): boolean {
  return e.created !== undefined && e.created.getTime() > now.getTime();
}

/** The sequence number for the next backup: one more than any recorded. */
export function nextSequence(entries: readonly BackupEntry[]): number {
  return entries.reduce((n, e) => Math.max(n, e.sequence ?? 0), 0) + 1;
}

async function entryOf(backupDir: string, name: string): Promise<BackupEntry | undefined> {
  const dir = join(backupDir, name);
  let text: string;
  try {
    text = await readFile(join(dir, "backup.json"), "utf8");
  } catch {
    return undefined; // not a backup (or not readable): never listed, never pruned
  }
  let index: { sequence?: unknown; created?: unknown } = {};
  try {
    index = JSON.parse(text) as typeof index;
  } catch {
    // a corrupt index is still a backup directory: listed by its name, refused by openBackup
  }
  const sequence = Number.isSafeInteger(index.sequence) && (index.sequence as number) > 0 ? (index.sequence as number) : undefined;
  const recorded = typeof index.created === "string" ? new Date(index.created) : undefined;
  const created = recorded && !Number.isNaN(recorded.getTime()) ? recorded : timeOfName(name);
  return { dir, name, sequence, created };
}

/** The backups in `backupDir` (directories holding a backup.json), oldest first. */
export async function listBackupEntries(backupDir: string): Promise<BackupEntry[]> {
  const names = await readdir(backupDir).catch(() => [] as string[]);
  const entries = await Promise.all(names.map((n) => entryOf(backupDir, n)));
  return orderBackups(entries.filter((e): e is BackupEntry => e !== undefined));
}

/** The backup directories in `backupDir`, oldest first. */
export async function listBackups(backupDir: string): Promise<string[]> {
  return (await listBackupEntries(backupDir)).map((e) => e.dir);
}

/**
 * The backups that records in the state directory still need (job.json; intent.json and
 * pending-restart.json of older versions; any record with a top-level `backup`): a run
 * interrupted or waiting to restart rolls back to it, so pruning must never remove it.
 */
export async function backupsInUse(stateDir: string): Promise<string[]> {
  const names = (await readdir(stateDir).catch(() => [] as string[])).filter((n) => n.endsWith(".json"));
  const out: string[] = [];
  for (const n of names) {
    try {
      const backup = (JSON.parse(await readFile(join(stateDir, n), "utf8")) as { backup?: unknown }).backup;
      if (typeof backup === "string" && backup !== "") out.push(backup);
    } catch {
      // unreadable or corrupt: the run that reads it reports that
    }
  }
  return out;
}

/**
 * Which backups pruning removes: all but the newest `keep` in creation order, except the
 * protected ones (the backup just made, those a state record names) and those dated after
 * `now` (their date tells nothing about their age; they stay until the clock passes it).
 */
export function backupsToPrune(entries: readonly BackupEntry[], keep: number, protect: readonly string[], now: Date): BackupEntry[] {
  const ordered = orderBackups(entries);
  const kept = new Set(ordered.slice(Math.max(0, ordered.length - keep)).map((e) => e.dir));
  const guarded = new Set(protect.map((p) => resolve(p)));
  return ordered.filter((e) => !kept.has(e.dir) && !guarded.has(resolve(e.dir)) && !isFutureDated(e, now));
}

/**
 * Removes the backups backupsToPrune chooses; returns those it removed. Its backup.json goes
 * first: one that cannot be removed (an operator made it immutable to keep the backup) leaves the
 * backup whole, and pruning never fails the renewal that called it.
 */
export async function pruneBackups(backupDir: string, keep: number, protect: readonly string[], now: Date): Promise<string[]> {
  const gone: string[] = [];
  for (const e of backupsToPrune(await listBackupEntries(backupDir), keep, protect, now)) {
    if (!(await unlink(join(e.dir, "backup.json")).then(() => true, () => false))) continue;
    await rm(e.dir, { recursive: true, force: true }).catch(() => undefined); // no longer a backup either way
    gone.push(e.dir);
  }
  return gone;
}
