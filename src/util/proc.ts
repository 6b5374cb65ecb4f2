// The process table, read from /proc: who a pid is (its start time, so that a reused pid is never
// taken for the process that held it) and which processes run a given program.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Linux's USER_HZ: /proc/<pid>/stat counts start times in 1/100 s on every architecture. */
const CLOCK_TICKS = 100;

/** A process's identity: its pid, its start time in clock ticks since boot, and the boot. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat; undefined when /proc does not show it. */
  startTicks: number | undefined;
  /** /proc/sys/kernel/random/boot_id: start times count from this boot. */
  boot: string | undefined;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** The start time (clock ticks since boot) in a /proc/<pid>/stat line; the command may hold spaces and parentheses. */
export function parseStartTicks(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const v = Number(fields[19]); // field 22 counted from 1, the first two (pid, comm) are gone
  return Number.isInteger(v) ? v : undefined;
}

/** This boot's id. */
export function bootId(proc = "/proc"): string | undefined {
  return read(join(proc, "sys/kernel/random/boot_id"))?.trim();
}

/** The identity of `pid` (default: this process). */
export function processIdentity(pid = process.pid, proc = "/proc"): ProcessIdentity {
  const stat = read(join(proc, String(pid), "stat"));
  return { pid, startTicks: stat ? parseStartTicks(stat) : undefined, boot: bootId(proc) };
}

/**
 * Whether the process `id` names is still running. A reused pid (another start time) or another
 * boot is not it. When /proc hides the pid (hidepid, ProtectProc=invisible) but the kernel says a
 * process has it, the answer is "alive": never take a lock from a process that may be running.
 */
export function stillRunning(id: ProcessIdentity, proc = "/proc"): boolean {
  const boot = bootId(proc);
  if (id.boot && boot && id.boot !== boot) return false;
  const stat = read(join(proc, String(id.pid), "stat"));
  if (stat !== undefined) return id.startTicks === undefined || parseStartTicks(stat) === id.startTicks;
  try {
    process.kill(id.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One process of the table. */
export interface ProcessEntry {
  pid: number;
  /** The program: the base name of argv[0]. */
  program: string;
  /** Start time, epoch milliseconds. */
  startedAt: number;
}

/** Boot time, epoch milliseconds (btime of /proc/stat). */
function bootTimeMs(proc: string): number | undefined {
  const m = /^btime (\d+)$/m.exec(read(join(proc, "stat")) ?? "");
  return m ? Number(m[1]) * 1000 : undefined;
}

/** The processes running `program` (argv[0]'s base name) that /proc shows; [] when it shows none. */
export function processesOf(program: string, proc = "/proc"): ProcessEntry[] {
  const boot = bootTimeMs(proc);
  if (boot === undefined) return [];
  const out: ProcessEntry[] = [];
  let names: string[];
  try {
    names = readdirSync(proc).filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  for (const n of names) {
    const argv0 = read(join(proc, n, "cmdline"))?.split("\0")[0];
    if (!argv0 || argv0.slice(argv0.lastIndexOf("/") + 1) !== program) continue;
    const ticks = parseStartTicks(read(join(proc, n, "stat")) ?? "");
    if (ticks === undefined) continue;
    out.push({ pid: Number(n), program, startedAt: boot + (ticks * 1000) / CLOCK_TICKS });
  }
  return out;
}
