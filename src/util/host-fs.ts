import { accessSync, constants, readFileSync, statfsSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { isErrno } from "../errors.js";
import { isInside } from "./fs.js";

/** One line of /proc/self/mountinfo: where a file system is mounted and how. */
export interface Mount {
  /** The mount point, unescaped. */
  point: string;
  /** This mount's own options say ro (a read-only bind mount has it even on a read-write file system). */
  readOnly: boolean;
  /** The file system itself is mounted ro (its super options). */
  superReadOnly: boolean;
  fsType: string;
  source: string;
}

/** Undoes the octal escapes of mountinfo (\040 for a space, \011, \012, \134). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo (proc(5)): one Mount per line, in the kernel's order. */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-", 6);
    if (f.length < 10 || sep < 0) continue;
    const superOptions = (f[sep + 3] ?? "").split(",");
    out.push({ point: unescape(f[4]!), readOnly: f[5]!.split(",").includes("ro"), superReadOnly: superOptions.includes("ro"), fsType: f[sep + 1]!, source: unescape(f[sep + 2]!) });
  }
  return out;
}

/** The mount `p` (an absolute, resolved path) lives on: the last mounted of the longest prefixes. */
export function mountOf(mounts: readonly Mount[], p: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) if (isInside(m.point, p) && (!best || m.point.length >= best.point.length)) best = m;
  return best;
}

/** Free space and inodes of the file system holding a path, and its identity. */
export interface Room {
  /** st_dev: paths with the same device share the room. */
  device: number;
  /** Block size in bytes. */
  blockSize: number;
  /** Blocks this process may still use (root may use the reserved ones). */
  freeBlocks: number;
  /** Inodes in total; 0 means the file system has no fixed inode table (btrfs, some FUSE). */
  inodes: number;
  freeInodes: number;
}

/** What the preflight asks the host; tests replace parts of it. */
export interface HostProbe {
  /** lsattr's flag letters per path (e.g. "----i---------e-------"); absent: unknown (no lsattr, no support). */
  attributes(paths: readonly string[]): Map<string, string>;
  /** The errno code access(W_OK) gives (EROFS, EPERM, EACCES…), or undefined when writable. */
  writeDenied(path: string): string | undefined;
  /** The room on the file system of `dir` (an existing directory). */
  room(dir: string): Room;
  mounts(): Mount[];
  /** Root may write into any mode and use reserved blocks. */
  isRoot: boolean;
}

/**
 * lsattr -d for several paths at once (one process): Node has no ioctl for FS_IOC_GETFLAGS, and
 * e2fsprogs, which every Debian and RHEL host has, reads the flags for any file system that keeps
 * them (ext4, xfs, btrfs, tmpfs since Linux 6.0). Paths lsattr cannot read are left out.
 */
export function lsattr(paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  const r = spawnSync("lsattr", ["-d", "--", ...paths], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" }, timeout: 30_000 });
  for (const line of (r.stdout ?? "").split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) out.set(line.slice(space + 1), line.slice(0, space));
  }
  return out;
}

/** The host as the kernel reports it. */
export const REAL_PROBE: HostProbe = {
  attributes: lsattr,
  writeDenied(path) {
    try {
      accessSync(path, constants.W_OK);
      return undefined;
    } catch (e) {
      return isErrno(e) ? e.code : "EIO";
    }
  },
  room(dir) {
    const s = statfsSync(dir);
    const root = process.getuid?.() === 0;
    return { device: statSync(dir).dev, blockSize: s.bsize, freeBlocks: root ? s.bfree : s.bavail, inodes: s.files, freeInodes: s.ffree };
  },
  mounts: () => parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8")),
  isRoot: process.getuid?.() === 0,
};
