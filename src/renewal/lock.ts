import { open, readFile, unlink, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";

/** A held lock; release() removes it. */
export interface Lock {
  file: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, "EPERM");
  }
}

/**
 * Takes the lock file `file` (O_EXCL, holding our pid). A lock whose pid is gone is stale and
 * taken over. While another live process holds it, waits up to `timeoutMs`, then throws LOCKED
 * naming the holder's pid.
 */
export async function acquireLock(file: string, timeoutMs: number, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<Lock> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 }).catch((e: unknown) => { throw fileError(e, dirname(file), "state directory"); });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(file, "wx", 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } catch (e) {
        await fh.close();
        await unlink(file).catch(() => undefined); // ours and empty (a full disk): leave nothing behind
        throw e;
      }
      await fh.close();
      return { file, release: () => unlink(file).catch(() => undefined) };
    } catch (e) {
      if (!isErrno(e, "EEXIST")) throw fileError(e, file, "lock file");
    }
    const holder = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
      await unlink(file).catch(() => undefined); // stale: its process is gone
      continue;
    }
    if (Date.now() >= deadline) {
      throw new RenewCertsError("LOCKED", `another renew-certs run (pid ${holder}) holds ${file}: wait for it to finish (journalctl -u renew-certs) and run again`, { file });
    }
    await sleep(Math.min(200, Math.max(1, deadline - Date.now())));
  }
}
