import { fileURLToPath } from "node:url";
import { run } from "./tools.js";

/** The built CLI entry point. */
export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Runs the built CLI as a user would, in a child process. */
export function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): { status: number; stdout: string; stderr: string } {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: "1", ...opts.env }, ...(opts.input !== undefined ? { input: opts.input } : {}) });
}
