// The real process behind RunMainIO. Output goes straight to file descriptors 1 and 2: creating
// process.stdout costs more than a whole `status` run's work, and a pipe is written synchronously
// on Linux either way. A non-blocking descriptor (EAGAIN) hands the rest to the stream; a closed
// pipe (EPIPE, as in `renew-certs status | head -1`) ends the output quietly.
import { fstatSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import type { RunMainIO } from "./run-main.js";
import { isJournalStream } from "../log/journal.js";

const requireBuiltin = createRequire(import.meta.url);

function fdWriter(fd: 1 | 2, stream: () => NodeJS.WriteStream): (s: string) => void {
  let useStream = false;
  let closed = false;
  return (s) => {
    if (closed) return;
    if (useStream) {
      stream().write(s);
      return;
    }
    const buf = Buffer.from(s, "utf8");
    for (let off = 0; off < buf.length; ) {
      try {
        off += writeSync(fd, buf, off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EPIPE") {
          closed = true;
          return;
        }
        if (code !== "EAGAIN") throw e;
        useStream = true;
        stream().write(buf.subarray(off));
        return;
      }
    }
  };
}

/** Whether `fd` is a terminal; node:tty (and the stream modules it loads) only for character devices. */
function isTerminal(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice() && (requireBuiltin("node:tty") as typeof import("node:tty")).isatty(fd);
  } catch {
    return false;
  }
}

/** Whether `fd` is the journal stream systemd gave the service (JOURNAL_STREAM, see log/journal.ts). */
function isJournal(fd: number): boolean {
  const stream = process.env["JOURNAL_STREAM"];
  if (!stream) return false;
  try {
    return isJournalStream(stream, fstatSync(fd, { bigint: true }));
  } catch {
    return false;
  }
}

/** The process's own argv-independent IO: stdout, stderr, environment, terminals, stdin. */
export function processIO(): RunMainIO {
  return {
    stdout: fdWriter(1, () => process.stdout),
    stderr: fdWriter(2, () => process.stderr),
    env: process.env,
    isTTY: isTerminal(1),
    stderrIsTTY: isTerminal(2),
    stderrIsJournal: isJournal(2),
    readStdin: () => (requireBuiltin("node:stream/consumers") as typeof import("node:stream/consumers")).text(process.stdin),
    stopOnSigterm: () => {
      const stop = new AbortController();
      // Every SIGTERM is handled: a second one must not kill the run in the middle of a write.
      process.on("SIGTERM", () => stop.abort("SIGTERM"));
      return stop.signal;
    },
  };
}
