import { parseArgs, type ParseArgsConfig } from "node:util";
import { readFileSync } from "node:fs";
import type { Command, CommandIO } from "./command.js";
import { RenewCertsError } from "../errors.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { createLogger, type Logger } from "../log/logger.js";
import { withPriority } from "../log/journal.js";

/** The commands, loaded on demand so that `status` never loads the X.509 builder. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  status: { summary: "show every kubeadm certificate, its expiry, residual time and age", load: async () => (await import("./commands/status.js")).statusCommand },
  renew: { summary: "renew certificates and kubeconfigs now, natively (no kubeadm needed)", load: async () => (await import("./commands/renew.js")).renewCommand },
  ca: { summary: "certificate authorities: status, and re-signing with their own keys before the 10-year cliff", load: async () => (await import("./commands/ca.js")).caCommand },
  restore: { summary: "put a backup back (undo a renewal), or list the backups", load: async () => (await import("./commands/restore.js")).restoreCommand },
  run: { summary: "the scheduled job: renew when due, restart the control plane, prove health, roll back", load: async () => (await import("./commands/run.js")).runCommand },
  install: { summary: "install the systemd timer, service, configuration file and executable on this host", load: async () => (await import("./commands/install.js")).installCommand },
  uninstall: { summary: "disable the timer and remove the units and the configuration file", load: async () => (await import("./commands/uninstall.js")).uninstallCommand },
  doctor: { summary: "check the timer, the last run, ages, annotations and the served certificate; say what to fix", load: async () => (await import("./commands/doctor.js")).doctorCommand },
  capi: { summary: "Cluster API: add certificate renewal to KubeadmControlPlane manifests", load: async () => (await import("./commands/capi.js")).capiCommand },
  deploy: { summary: "print the Kubernetes manifests that install renew-certs on every node of a running cluster", load: async () => (await import("./commands/deploy.js")).deployCommand },
  sandbox: { summary: "create a kubeadm-layout control plane on disk, for trying renew-certs safely", load: async () => (await import("./commands/sandbox.js")).sandboxCommand },
};

/** The package version, read from package.json next to the build (or injected by the bundle). */
export function version(): string {
  const injected = (globalThis as { RENEW_CERTS_VERSION?: string }).RENEW_CERTS_VERSION;
  if (injected) return injected;
  for (const rel of ["../../../package.json", "../../package.json"]) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return "unknown";
}

/** The top-level --help text (pure; showUsage-style printing is the caller's). */
export function renderUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const list = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}   ${c.summary}`).join("\n");
  return `renew-certs ${version()} — keeps kubeadm control planes from dying of expired certificates

Usage: renew-certs COMMAND [OPTIONS]

Commands:
${list}

Global options:
  -h, --help       help for a command: renew-certs COMMAND --help
  --version        print the version
  --verbose        debug lines, and stack traces on errors
  --log-format F   text (default) or json, for log lines on stderr

Start here:
  renew-certs sandbox /tmp/cp --age-days 300   # a throwaway control plane
  renew-certs status --root /tmp/cp            # what expires when
`;
}

/** Global flags every command accepts. */
const GLOBAL_OPTIONS = {
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean" },
  "log-format": { type: "string" },
} as const;

/**
 * `args` with each negative number that follows a string option joined to it ("--validity-days
 * -5" becomes "--validity-days=-5"): parseArgs would read "-5" as an option and answer "argument
 * is ambiguous", where the option's own check says what it takes. Pure.
 */
export function joinNegativeValues(args: readonly string[], options: NonNullable<ParseArgsConfig["options"]>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const option = a.startsWith("--") && !a.includes("=") ? options[a.slice(2)] : undefined;
    if (option?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * Side effects for runMain; main.ts passes the real process ones. `stderrIsJournal`: stderr is
 * systemd's journal stream, so each line gets its syslog priority (`journalctl -p warning`).
 */
export type RunMainIO = Omit<CommandIO, "log" | "verbose"> & { stderrIsTTY: boolean; stderrIsJournal?: boolean };

/** Runs the CLI with `argv` (without node and script) and returns the exit code. Never exits. */
export async function runMain(argv: string[], io: RunMainIO): Promise<number> {
  // Global flags may come before the command too: renew-certs --verbose status.
  const globals: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--verbose" || a.startsWith("--log-format=")) globals.push(a);
    else if (a === "--log-format" && i + 1 < argv.length) globals.push(a, argv[++i]!);
    else break;
  }
  const [name, ...afterName] = argv.slice(i);
  const rest = [...afterName, ...globals];
  // Everything runMain itself writes to stderr is an error (the logger prefixes its own lines).
  const stderrError = io.stderrIsJournal ? (s: string): void => io.stderr(withPriority("error", s)) : io.stderr;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(renderUsage());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === "--version" || name === "version") {
    io.stdout(`${version()}\n`);
    return EXIT.OK;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    stderrError(`error: unknown command "${name}"\n\n${renderUsage()}`);
    return EXIT.USAGE;
  }
  const command = await entry.load();
  let verbose = rest.includes("--verbose");
  let log: Logger | undefined;
  try {
    let parsed;
    const options = { ...GLOBAL_OPTIONS, ...command.options };
    try {
      parsed = parseArgs({ args: joinNegativeValues(rest, options), options, allowPositionals: true, strict: true });
    } catch (e) {
      // One line: node's message may go on with hints about its own syntax.
      const first = (e as Error).message.split("\n")[0]!.replace(/\.? To specify.*$/, "").replace(/\.$/, "");
      throw new RenewCertsError("USAGE", `${first}; see renew-certs ${name} --help`);
    }
    if (parsed.values.help) {
      io.stdout(command.help);
      return EXIT.OK;
    }
    verbose = parsed.values.verbose === true;
    const logFormat = parsed.values["log-format"] ?? "text";
    if (logFormat !== "text" && logFormat !== "json") throw new RenewCertsError("USAGE", `--log-format must be text or json (got ${String(logFormat)})`);
    log = createLogger({ write: io.stderr, format: logFormat, color: io.stderrIsTTY && !io.env["NO_COLOR"], verbose, journal: io.stderrIsJournal === true });
    return await command.run(parsed as never, { ...io, log, verbose });
  } catch (e) {
    if (e instanceof RenewCertsError && e.code === "TERMINATED") {
      // Stopped as asked (SIGTERM): a warning that says where, not an error.
      if (log) log.warn(e.message);
      else io.stderr(io.stderrIsJournal ? withPriority("warn", `warn: ${e.message}\n`) : `warn: ${e.message}\n`);
      return exitCodeFor(e.code);
    }
    if (e instanceof RenewCertsError) {
      stderrError(`error: ${e.message}\n`);
      if (verbose && e.stack) stderrError(`${e.stack}\n`);
      return exitCodeFor(e.code);
    }
    stderrError(`error: unexpected failure: ${(e as Error)?.message ?? String(e)}\n`);
    stderrError(verbose ? `${(e as Error)?.stack ?? ""}\n` : "run again with --verbose for details, and report it as a bug\n");
    return EXIT.FAILURE;
  }
}
