import { lstat, mkdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { RenewCertsError, fileError, isErrno } from "../errors.js";
import { writeFileAtomic, type AtomicWriteOptions } from "../util/atomic.js";
import type { SystemdHost } from "./systemd.js";
import { ensureDirectory } from "./directories.js";

/** One file step of a host plan; `path` is the host path, `file` the same under --root. */
export type FileStep =
  | { action: "create" | "update"; path: string; file: string; content: string | Uint8Array; mode: number; note?: string }
  /** A directory a run writes into, created with its missing parents (see directories.ts). */
  | { action: "mkdir"; path: string; file: string; mode: number; note?: string }
  | { action: "keep"; path: string; file: string; note?: string }
  | { action: "remove"; path: string; file: string; note?: string };

/** What install or uninstall will do: files first, then systemctl commands, then advice. */
export interface HostPlan {
  /** The resolved --root. */
  root: string;
  /** Runs before the file steps (uninstall stops the timer before its unit disappears). */
  before: string[][];
  files: FileStep[];
  /** systemctl argument lists, run in order after the files. */
  after: string[][];
  /** What the operator must do by hand (systemd not running, --no-enable…). */
  notes: string[];
  /** Host directories of renew-certs removed after the file steps when they are left empty. */
  removeEmptyDirs?: string[];
}

/** True when the plan changes nothing. */
export function isNoop(p: HostPlan): boolean {
  return p.before.length === 0 && p.after.length === 0 && p.files.every((f) => f.action === "keep");
}

/** The plan for people, one line per step. Pure. */
export function renderPlan(p: HostPlan): string {
  const lines = [
    ...p.before.map((a) => `  run     systemctl ${a.join(" ")}`),
    ...p.files.map((f) => {
      const mode = f.action === "create" || f.action === "update" || f.action === "mkdir" ? ` (${f.mode.toString(8).padStart(4, "0")})` : "";
      return `  ${(f.action === "mkdir" ? "create" : f.action).padEnd(7)} ${f.path}${mode}${f.note ? ` — ${f.note}` : ""}`;
    }),
    ...p.after.map((a) => `  run     systemctl ${a.join(" ")}`),
  ];
  return `${lines.join("\n")}\n${p.notes.map((n) => `note: ${n}\n`).join("")}`;
}

/** The resolved --root, which must be an existing directory. */
export async function checkRoot(root: string): Promise<string> {
  const dir = resolve(root);
  try {
    if ((await stat(dir)).isDirectory()) return dir;
  } catch (e) {
    if (!isErrno(e, "ENOENT")) throw fileError(e, dir, "root directory");
  }
  throw new RenewCertsError("ROOT", `root directory ${dir} does not exist or is not a directory: pass an existing --root (default /)`, { file: dir });
}

/** The bytes and mode of a file, or undefined when it does not exist. */
export async function readExisting(file: string, what: string): Promise<{ bytes: Buffer; mode: number } | undefined> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new RenewCertsError("ROOT", `${what} ${file} is not a regular file: move it away and run again`, { file });
    return { bytes: await readFile(file), mode: s.mode & 0o7777 };
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw fileError(e, file, what);
  }
}

/** The step that makes `file` hold `content` with `mode`: create, update, or keep when it already does. */
export async function writeStep(root: string, path: string, content: string | Uint8Array, mode: number, what: string): Promise<FileStep> {
  const file = join(root, path);
  const old = await readExisting(file, what);
  if (!old) return { action: "create", path, file, content, mode };
  const same = old.bytes.equals(typeof content === "string" ? Buffer.from(content) : content);
  if (same && old.mode === mode) return { action: "keep", path, file, note: "no change" };
  return { action: "update", path, file, content, mode, note: same ? `mode was ${old.mode.toString(8).padStart(4, "0")}` : "content changed" };
}

/** The step that removes `file` if it exists (a symbolic link counts, even a dangling one). */
export async function removeStep(root: string, path: string): Promise<FileStep | undefined> {
  const file = join(root, path);
  try {
    await lstat(file);
    return { action: "remove", path, file };
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw fileError(e, file, "file");
  }
}

async function systemctl(host: SystemdHost, args: string[], done: string): Promise<void> {
  const r = await host.systemctl(args);
  if (r.status !== 0) {
    const why = (r.stderr.trim() || r.stdout.trim()).split("\n")[0] ?? `exit status ${r.status}`;
    throw new RenewCertsError("IO", `systemctl ${args.join(" ")} failed: ${why}; ${done}`);
  }
}

/** Applies a plan: systemctl "before" commands, the file steps (atomic writes), then the "after" ones; `onStep`: the crash tests' hook. */
export async function applyPlan(p: HostPlan, host: SystemdHost, what: { done: string; onStep?: AtomicWriteOptions["onStep"] }): Promise<void> {
  for (const args of p.before) await systemctl(host, args, "nothing was removed; fix it and run again");
  for (const f of p.files) {
    if (f.action === "create" || f.action === "update") {
      await mkdir(dirname(f.file), { recursive: true, mode: 0o755 }).catch((e: unknown) => {
        throw fileError(e, dirname(f.file), "directory");
      });
      await writeFileAtomic(f.file, f.content, { mode: f.mode, what: "file", ...(what.onStep ? { onStep: what.onStep } : {}) });
    } else if (f.action === "mkdir") {
      await ensureDirectory(f.file, f.mode);
    } else if (f.action === "remove") {
      await rm(f.file, { force: true }).catch((e: unknown) => {
        throw fileError(e, f.file, "file");
      });
    }
  }
  // Left alone when something else is in there: it is not ours to remove.
  for (const d of p.removeEmptyDirs ?? []) await rmdir(join(p.root, d)).catch(() => undefined);
  for (const args of p.after) await systemctl(host, args, what.done);
}
