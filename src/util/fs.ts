import { readFileSync, statSync } from "node:fs";
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
