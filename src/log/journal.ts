// Log levels the journal can filter on. A service's stdout and stderr reach journald through a
// stream socket, and every line arrives at priority info unless it starts with "<N>", the
// sd-daemon(3) level prefix that journald strips and stores as PRIORITY. systemd says which file
// that stream is in JOURNAL_STREAM ("DEVICE:INODE"); a process whose stderr is still that file
// (not redirected by a shell) writes to the journal, as sd_journal_stream_fd's callers check.
import type { Level } from "./logger.js";

/** The syslog priority of each log level: error 3, warning 4, info 6, debug 7 (journalctl -p). */
export const SYSLOG_PRIORITY: Readonly<Record<Level, number>> = Object.freeze({ error: 3, warn: 4, info: 6, debug: 7 });

/** The identity of an open file, as fstat reports it (bigint: inode numbers may exceed 2^53). */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

/**
 * True when `journalStream` (the JOURNAL_STREAM variable, "DEVICE:INODE" in decimal) names the
 * file `fd` is: then output to `fd` goes to the journal. False when the variable is unset or
 * malformed, or the descriptor is another file (a terminal, a pipe to `less`, a file). Pure.
 */
export function isJournalStream(journalStream: string | undefined, fd: FileIdentity | undefined): boolean {
  const m = /^(\d+):(\d+)$/.exec(journalStream ?? "");
  if (!m || !fd) return false;
  return BigInt(m[1]!) === fd.dev && BigInt(m[2]!) === fd.ino;
}

/** `text` with "<N>" (the level's syslog priority) at the start of each of its lines. Pure. */
export function withPriority(level: Level, text: string): string {
  const prefix = `<${SYSLOG_PRIORITY[level]}>`;
  return text.replace(/^(?=[^\n])/gm, prefix);
}
