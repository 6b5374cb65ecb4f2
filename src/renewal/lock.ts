// One run at a time, without ever admitting two holders: Lamport's bakery over files. Every
// contender has an entry in the lock directory, named by its pid and start time and replaced
// atomically (temporary dot-file, rename), so that no reader ever sees a half-written one:
//
//   choosing ──► number = 1 + the highest number seen ──► waits for every other entry that is
//                                                         choosing, then for every lower
//                                                         (number, name) to go ──► holder
//
// An entry is stale only when its process is gone (the pid with another start time, or another
// boot, is not it); anyone may remove a stale entry, and removing one twice is harmless, so taking
// over from a dead process has no race: no entry is ever judged by its age or emptiness.
import { readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";
import { processIdentity, stillRunning, type ProcessIdentity } from "../util/proc.js";
import { mkdirs } from "../util/fs.js";
import { throwIfStopped, unlessStopped } from "../util/stop.js";

/** A held lock; release() removes our entry. */
export interface Lock {
  file: string;
  release(): Promise<void>;
}

/** What an entry holds. */
interface Entry extends ProcessIdentity {
  /** null while choosing its number. */
  number: number | null;
}

let acquisitions = 0;
/** pid, start time, and a count: even two acquisitions in one process are two contenders. */
const entryName = (id: ProcessIdentity): string => `${id.pid}-${id.startTicks ?? "x"}-${++acquisitions}`;

async function readEntries(dir: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  for (const name of await readdir(dir).catch((e: unknown) => { if (isErrno(e, "ENOENT")) return [] as string[]; throw e; })) {
    if (name.startsWith(".")) continue;
    try {
      out.set(name, JSON.parse(await readFile(join(dir, name), "utf8")) as Entry);
    } catch (e) {
      if (!isErrno(e, "ENOENT")) throw fileError(e, join(dir, name), "lock entry");
    }
  }
  return out;
}

async function writeEntry(dir: string, name: string, e: Entry): Promise<void> {
  const tmp = join(dir, `.${name}.tmp`);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(tmp, JSON.stringify(e), { mode: 0o600 });
      await rename(tmp, join(dir, name));
      return;
    } catch (err) {
      await unlink(tmp).catch(() => undefined); // a full disk leaves nothing behind
      // The last holder removed the empty directory between our mkdir and this write.
      if (!isErrno(err, "ENOENT") || attempt > 5) throw err;
      await mkdirs(dir, 0o700);
    }
  }
}

/** A lock file of an older renew-certs (a pid in a file where the directory belongs): waited for while its pid lives. */
async function legacyHolder(dir: string): Promise<number | undefined> {
  const s = await stat(dir).catch(() => undefined);
  if (!s || s.isDirectory()) return undefined;
  const pid = Number((await readFile(dir, "utf8").catch(() => "")).trim());
  if (Number.isInteger(pid) && pid > 0 && stillRunning({ pid, startTicks: undefined, boot: undefined })) return pid;
  await unlink(dir).catch(() => undefined);
  return undefined;
}

/** The pids of live processes holding or waiting for the lock directory `file` (status, doctor: a run is in progress). */
export async function lockHolders(file: string): Promise<number[]> {
  const entries = await readEntries(file).catch(() => new Map<string, Entry>());
  return [...entries.values()].filter((e) => stillRunning(e)).map((e) => e.pid);
}

const before = (a: [number, string], b: [number, string]): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

/**
 * Takes the lock directory `file` (…/lock). While another live process holds it or is ahead in
 * line, waits up to `timeoutMs`, then throws LOCKED naming the holder's pid; `signal` aborted
 * (SIGTERM) ends the wait at once with TERMINATED, our entry removed.
 */
export async function acquireLock(file: string, timeoutMs: number, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)), signal?: AbortSignal): Promise<Lock> {
  const deadline = Date.now() + timeoutMs;
  const pause = (): Promise<unknown> => unlessStopped(sleep(Math.min(25 + Math.random() * 25, Math.max(1, deadline - Date.now()))), signal);
  const give = (holder: number | string): never => {
    throw new RenewCertsError("LOCKED", `another renew-certs run (pid ${holder}) holds ${file}: wait for it to finish (journalctl -u renew-certs) and run again`, { file });
  };
  throwIfStopped(signal);
  for (let legacy = await legacyHolder(file); legacy !== undefined; legacy = await legacyHolder(file)) {
    if (Date.now() >= deadline) give(legacy);
    await pause();
  }
  await mkdirs(file, 0o700).catch((e: unknown) => { throw fileError(e, file, "lock directory"); });
  const me = processIdentity();
  const name = entryName(me);
  const release = async (): Promise<void> => {
    await unlink(join(file, name)).catch(() => undefined);
    // Only an empty directory goes (nobody else has an entry, not even a half-written one).
    await rmdir(file).catch(() => undefined);
  };
  try {
    await writeEntry(file, name, { ...me, number: null });
    const seen = await readEntries(file);
    const number = 1 + Math.max(0, ...[...seen.values()].map((e) => e.number ?? 0));
    await writeEntry(file, name, { ...me, number });
    const mine: [number, string] = [number, name];
    for (const other of (await readEntries(file)).keys()) {
      if (other === name) continue;
      for (;;) {
        const e = (await readEntries(file)).get(other);
        if (!e) break;
        if (!stillRunning(e)) {
          await rm(join(file, other), { force: true }); // its process is gone: stale
          break;
        }
        if (e.number !== null && !before([e.number, other], mine)) break;
        if (Date.now() >= deadline) give(e.pid);
        await pause();
      }
    }
  } catch (e) {
    await release();
    throw e instanceof RenewCertsError ? e : fileError(e, file, "lock directory");
  }
  return { file, release };
}
