// Blocks of ports claimed across processes, so that simulations in different processes (test files
// run side by side, the demo, a benchmark) never listen on the same port. A port found free by
// binding port 0 and closing again is free for anyone: a component double that is down leaves its
// port free for as long as it is down, and another process binding port 0 could then get it; the
// run would probe that process as its own component (it once proved a controller manager that never
// came back "restarted and healthy"). Outgoing connections take their local ports from the same
// kernel range. So the blocks lie outside the kernel's ephemeral range, where neither ever lands,
// and each is claimed by a file "<first port>-<pid>" in a directory shared by the user's processes:
// a block is free when no live process holds it (the claim of a process that has ended is stale).
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Ports per block. */
export const BLOCK_SIZE = 100;

/** The lowest port handed out: below it lie the well-known and registered services people run. */
const LOWEST = 10_000;

/** The kernel's ephemeral port range (bind to port 0, outgoing connections). */
export function ephemeralRange(file = "/proc/sys/net/ipv4/ip_local_port_range"): [number, number] {
  try {
    const [lo, hi] = readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // not Linux: its default
  }
  return [32_768, 60_999];
}

/** The first ports of the blocks that lie wholly outside `range`. */
export function blockStarts(range: [number, number]): number[] {
  const out: number[] = [];
  for (let p = LOWEST; p + BLOCK_SIZE - 1 <= 65_535; p += BLOCK_SIZE) if (p + BLOCK_SIZE - 1 < range[0] || p > range[1]) out.push(p);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Claims of one directory, for this process. */
export interface PortClaims {
  /** Claims a free block and returns its first port; undefined when none is free or the directory cannot be used. */
  claim(): number | undefined;
  /** Gives up this process's claims (done at exit too). */
  release(): void;
}

/** The claims kept in `dir` (default: one directory per user under the temporary directory). */
export function portClaims(dir = join(tmpdir(), `renew-certs-sim-ports-${process.getuid?.() ?? 0}`), range = ephemeralRange()): PortClaims {
  const mine = new Set<string>();
  const release = (): void => {
    for (const name of mine) try { unlinkSync(join(dir, name)); } catch { /* already gone */ }
    mine.clear();
  };
  let hooked = false;
  /** Live holders of the block at `start` other than this process; removes the claims of ended processes. */
  const others = (start: number): number[] => {
    const pids: number[] = [];
    for (const name of readdirSync(dir)) {
      const [s, p] = name.split("-").map(Number);
      if (s !== start || p === process.pid || !Number.isInteger(p)) continue;
      if (alive(p!)) pids.push(p!);
      else try { unlinkSync(join(dir, name)); } catch { /* another process cleaned it */ }
    }
    return pids;
  };
  return {
    release,
    claim() {
      const starts = blockStarts(range);
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        if (!hooked) process.once("exit", release);
        hooked = true;
        const from = Math.floor(Math.random() * starts.length);
        for (let i = 0; i < starts.length; i++) {
          const start = starts[(from + i) % starts.length]!;
          const name = `${start}-${process.pid}`;
          if (mine.has(name) || others(start).length > 0) continue;
          writeFileSync(join(dir, name), "");
          // Written, then looked again: of two processes claiming at once, at least one sees the
          // other's file and gives way, so a block never has two holders.
          if (others(start).length > 0) {
            unlinkSync(join(dir, name));
            continue;
          }
          mine.add(name);
          return start;
        }
      } catch {
        return undefined;
      }
      return undefined;
    },
  };
}
