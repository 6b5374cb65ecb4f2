import type { ParseArgsConfig } from "node:util";
import type { Logger } from "../log/logger.js";

/** The side effects a command may use: everything that touches the process comes in here. */
export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** stdout is a terminal (colour, bars, progress). */
  isTTY: boolean;
  /** stdin, for commands that read "-". */
  readStdin: () => Promise<string>;
  /**
   * Handles SIGTERM from now on by aborting the signal returned, for a command that stops cleanly
   * at its waits (run); absent (tests) or never called, SIGTERM ends the process as by default.
   */
  stopOnSigterm?: () => AbortSignal;
  /** A logger on stderr, set up from the global flags. */
  log: Logger;
  verbose: boolean;
}

/** Parsed arguments of one command. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** One subcommand: its flags, its help text and what it does. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full --help text: usage, what it does, flags, examples. */
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Runs the command and returns the exit code; throws RenewCertsError on failure. */
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}

/** Reads a string flag. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

/** Reads a boolean flag. */
export function bool(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}
