import { withPriority } from "./journal.js";

/** Log levels, lowest first. */
export type Level = "debug" | "info" | "warn" | "error";

/** A structured log sink: one event per line, fit for the journal. Never pass key material. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Options of the standard logger. */
export interface LoggerOptions {
  write: (line: string) => void;
  format?: "text" | "json";
  color?: boolean;
  verbose?: boolean;
  /** Start each line with its syslog priority ("<4>"), for the journal to store (see journal.ts). */
  journal?: boolean;
  /** The clock, for JSON lines (default: now). */
  now?: () => Date;
}

const COLORS: Record<Level, number> = { debug: 90, info: 36, warn: 33, error: 31 };

function fieldText(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const s = typeof v === "string" ? v : JSON.stringify(v);
      return `${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
    })
    .join(" ");
}

/** A logger writing "level: message key=value" lines, or JSON lines with --log-format json. */
export function createLogger(o: LoggerOptions): Logger {
  const now = o.now ?? ((): Date => new Date());
  const write = (level: Level, line: string): void => o.write(o.journal ? withPriority(level, line) : line);
  const emit = (level: Level, msg: string, fields: Record<string, unknown> = {}): void => {
    if (level === "debug" && !o.verbose) return;
    if (o.format === "json") {
      write(level, JSON.stringify({ time: now().toISOString(), level, msg, ...fields }) + "\n");
      return;
    }
    const tag = o.color ? `\u001b[${COLORS[level]}m${level}\u001b[0m` : level;
    const rest = fieldText(fields);
    write(level, `${tag}: ${msg}${rest ? " " + rest : ""}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** A logger that keeps its lines in memory (for tests and for summaries). */
export function memoryLogger(): Logger & { lines: { level: Level; msg: string; fields: Record<string, unknown> }[] } {
  const lines: { level: Level; msg: string; fields: Record<string, unknown> }[] = [];
  const push = (level: Level) => (msg: string, fields: Record<string, unknown> = {}): void => { lines.push({ level, msg, fields }); };
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}
