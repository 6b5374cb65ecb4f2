import { lstatSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { RenewCertsError } from "../errors.js";
import type { Inventory } from "../inventory/scan.js";
import { isInside, realPathOf, writeTargetOf } from "../util/fs.js";
import { mountOf, REAL_PROBE, type HostProbe, type Mount, type Room } from "../util/host-fs.js";
import type { Skipped } from "./plan.js";

// The checks a renewal makes before its first write, so that what would fail half-way (an
// immutable file, a read-only mount, a full disk or inode table, a link that leads nowhere or out
// of --root) is one clear error while every file is still as it was. Whatever still fails during
// the writes (a race, an error no check foresees) is restored from the run's backup.

/** What a renewal is about to do, for the preflight. */
export interface PreflightInput {
  root: string;
  /** Every file the renewal writes (through symbolic links), with its new content. */
  writes: readonly { path: string; content: string | Uint8Array; what: string }[];
  /** Every file the backup copies (the writes and the static pod manifests). */
  backupFiles: readonly string[];
  backupDir: string;
  /** Where the intent record is written. */
  stateDir: string;
}

/** A place the renewal writes in: a file it replaces, or a directory it creates files in. */
interface Place {
  path: string;
  what: string;
  isFile: boolean;
}

/** One reason a place cannot be written. */
interface Problem {
  kind: "immutable" | "append-only" | "read-only" | "denied" | "mount-point";
  place: Place;
  mount: Mount | undefined;
}

function existsNoFollow(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/** The nearest existing directory at or above `dir`: where its creation begins. */
function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsNoFollow(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** Where a write lands, refused when it is nowhere (a dangling link) or outside --root. */
function targetInside(root: string, realRoot: string, file: string, what: string): string {
  const { target, linkText } = writeTargetOf(file, what);
  const real = linkText === undefined ? join(realPathOf(dirname(file)), basename(file)) : target;
  if (isInside(realRoot, real)) return target;
  const via = linkText === undefined ? "lies in a directory that leads" : `is a symbolic link to ${linkText}, which leads`;
  throw new RenewCertsError("LINK", `${what} ${file} ${via} outside --root ${root} (to ${real}): renew-certs writes only under --root (on a mounted disk an absolute link leads into this machine's files, not the disk's); run it with --root set to the tree the link belongs to (--root / on the host itself) or make the link point inside it; nothing was changed`, { file });
}

/** Why each place cannot be written, as the kernel and lsattr say. */
function placeProblems(places: readonly Place[], probe: HostProbe, mounts: readonly Mount[]): Problem[] {
  const flags = probe.attributes(places.map((p) => p.path));
  const out: Problem[] = [];
  for (const place of places) {
    const mount = mountOf(mounts, realPathOf(place.path));
    const f = flags.get(place.path) ?? "";
    if (f.includes("i")) out.push({ kind: "immutable", place, mount });
    else if (f.includes("a")) out.push({ kind: "append-only", place, mount });
    else {
      const denied = probe.writeDenied(place.path);
      if (denied === "EROFS") out.push({ kind: "read-only", place, mount });
      else if (denied === "EPERM" || denied === "EACCES") out.push({ kind: "denied", place, mount });
      else if (place.isFile && mount?.point === realPathOf(place.path)) out.push({ kind: "mount-point", place, mount });
    }
  }
  return out;
}

/** The one error line for the first problem, naming every place that has the same one. */
function problemError(problems: readonly Problem[], isRoot: boolean): RenewCertsError {
  const first = problems[0]!;
  const same = problems.filter((p) => p.kind === first.kind).map((p) => p.place.path);
  const named = `${first.place.what} ${first.place.path}${same.length > 1 ? ` (and ${same.length - 1} more)` : ""}`;
  const m = first.mount;
  const tail = "; nothing was changed";
  let msg: string;
  switch (first.kind) {
    case "immutable":
      msg = `${named}: immutable attribute set: \`chattr -i ${same.join(" ")}\`, then run again${tail}`;
      break;
    case "append-only":
      msg = `${named}: append-only attribute set: \`chattr -a ${same.join(" ")}\`, then run again${tail}`;
      break;
    case "read-only": {
      const how = m ? ` (mount -o ${m.readOnly && !m.superReadOnly ? "remount,bind,rw" : "remount,rw"} ${m.point})` : "";
      msg = `${named} is on a read-only file system${m ? ` mounted at ${m.point}` : ""}: remount it read-write${how}, then run again${tail}`;
      break;
    }
    case "denied":
      msg = isRoot
        ? `${named}: operation not permitted, even to root: a security module (SELinux, AppArmor) or an attribute refuses the write; check its audit log and lsattr -d ${first.place.path}${tail}`
        : `${named} cannot be written (permission denied): run renew-certs as root${tail}`;
      break;
    case "mount-point":
      msg = `${named} is a mount point (${m?.source ?? "a file"} is mounted on it): renew-certs replaces a file by renaming a new one over it, which a mount point refuses; unmount it and put the file, or a symbolic link to it, in its place${tail}`;
      break;
  }
  return new RenewCertsError("PERMISSION", msg, { file: first.place.path });
}

/** What the renewal adds to one file system: file sizes in bytes, and directories it creates. */
export interface Demand {
  /** An existing directory on that file system. */
  dir: string;
  files: number[];
  newDirs: number;
}

/** What one file system lacks for the demands on it, or undefined when they fit. */
export function shortfall(demands: readonly Demand[], room: Omit<Room, "device">): { kind: "inodes" | "space"; need: number; free: number } | undefined {
  const receiving = new Set(demands.filter((d) => d.files.length > 0 || d.newDirs > 0).map((d) => d.dir)).size;
  const files = demands.reduce((n, d) => n + d.files.length, 0);
  const newDirs = demands.reduce((n, d) => n + d.newDirs, 0);
  const inodes = files + newDirs;
  // Each file takes whole blocks; each new directory one; each directory that grows may need one more.
  const blocks = demands.reduce((n, d) => n + d.files.reduce((b, size) => b + Math.ceil(size / room.blockSize), 0), 0) + newDirs + receiving;
  if (room.inodes > 0 && inodes > room.freeInodes) return { kind: "inodes", need: inodes, free: room.freeInodes };
  if (blocks > room.freeBlocks) return { kind: "space", need: blocks * room.blockSize, free: room.freeBlocks * room.blockSize };
  return undefined;
}

/** The demands of a renewal: temporary files beside each target, the backup, the intent record. */
function demandsOf(i: PreflightInput, targets: readonly { target: string; content: string | Uint8Array }[]): Demand[] {
  const out: Demand[] = targets.map((t) => ({ dir: dirname(t.target), files: [Buffer.byteLength(t.content)], newDirs: 0 }));
  const base = nearestExisting(i.backupDir);
  const backupDirs = new Set<string>();
  const sizes: number[] = [];
  let indexBytes = 200;
  for (const f of new Set(i.backupFiles)) {
    let s;
    try {
      s = statSync(f, { throwIfNoEntry: false });
    } catch {
      s = undefined; // unreadable: the backup itself reports it
    }
    if (!s) continue;
    sizes.push(s.size);
    const rel = relative(i.root, f);
    indexBytes += 400 + 2 * rel.length; // an entry of backup.json, a link's text and target included
    for (let d = dirname(rel); d !== "." && d !== "/"; d = dirname(d)) backupDirs.add(d);
  }
  const missingLevels = relative(base, i.backupDir).split("/").filter((p) => p !== "").length;
  out.push({ dir: base, files: [...sizes, indexBytes], newDirs: missingLevels + 2 + backupDirs.size }); // + the backup and its files/
  out.push({ dir: nearestExisting(i.stateDir), files: [200 + targets.reduce((n, t) => n + 120 + relative(i.root, t.target).length, 0)], newDirs: existsNoFollow(i.stateDir) ? 0 : 1 });
  return out;
}

function roomError(kind: "inodes" | "space", need: number, free: number, dirs: readonly string[], mount: string): RenewCertsError {
  const where = `${mount} (for ${dirs[0]}${dirs.length > 1 ? ` and ${dirs.length - 1} more director${dirs.length > 2 ? "ies" : "y"}` : ""})`;
  const msg = kind === "inodes"
    ? `${free === 0 ? "no free inodes" : "not enough free inodes"} on ${where}: the backup and the temporary files need ${need}, ${free} ${free === 1 ? "is" : "are"} free (df -i ${mount}); remove unneeded files there and run again; nothing was changed`
    : `not enough free space on ${where}: the backup and the temporary files need ${Math.ceil(need / 1024)} KiB, ${Math.floor(free / 1024)} KiB ${free === 1024 ? "is" : "are"} free (df -h ${mount}); free some space and run again; nothing was changed`;
  return new RenewCertsError("IO", msg, { file: dirs[0]! });
}

/**
 * Checks, before the first write, everything that would make a renewal's writes fail: links
 * (dangling, or leading outside --root), immutable and append-only attributes, read-only mounts,
 * mount points, permissions, and free space and inodes for the backup plus the temporary files.
 * Throws the first problem as one RenewCertsError; writes nothing.
 */
export function preflight(i: PreflightInput, probe: HostProbe = REAL_PROBE): void {
  const realRoot = realpathSync(i.root);
  const targets = i.writes.map((w) => ({ ...w, target: targetInside(i.root, realRoot, w.path, w.what) }));
  const places = new Map<string, Place>();
  const add = (path: string, what: string, isFile: boolean): void => { if (!places.has(path)) places.set(path, { path, what, isFile }); };
  for (const t of targets) if (existsNoFollow(t.target)) add(t.target, t.what, true);
  for (const t of targets) add(dirname(t.target), "directory", false);
  add(nearestExisting(i.backupDir), "backup directory", false);
  add(nearestExisting(i.stateDir), "state directory", false);
  const mounts = probe.mounts();
  const problems = placeProblems([...places.values()], probe, mounts);
  if (problems.length > 0) throw problemError(problems, probe.isRoot);

  const byDevice = new Map<number, { demands: Demand[]; room: Room }>();
  for (const d of demandsOf(i, targets)) {
    const room = probe.room(d.dir);
    const g = byDevice.get(room.device) ?? { demands: [], room };
    g.demands.push(d);
    byDevice.set(room.device, g);
  }
  for (const g of byDevice.values()) {
    const short = shortfall(g.demands, g.room);
    const dirs = [...new Set(g.demands.map((d) => d.dir))];
    if (short) throw roomError(short.kind, short.need, short.free, dirs, mountOf(mounts, realpathSync(dirs[0]!))?.point ?? dirs[0]!);
  }
}

/**
 * Refuses a certificate asked for that looks missing only because its symbolic link leads nowhere
 * (a secret manager's mount that is not there): skipping it would leave it to expire.
 */
export function refuseDanglingLinks(inv: Inventory, skipped: readonly Skipped[]): void {
  for (const l of inv.leaves) {
    if (!l.missing || !skipped.some((s) => s.name === l.spec.name)) continue;
    for (const f of l.files) writeTargetOf(f, l.kubeconfig || l.spec.kind === "kubeconfig" ? "kubeconfig" : f === l.keyFile ? "key" : "certificate");
  }
}
