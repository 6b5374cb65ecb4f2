import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { run } from "./tools.js";

/** The built CLI entry point. */
export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Runs the built CLI as a user would, in a child process. */
export function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): { status: number; stdout: string; stderr: string } {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: "1", ...opts.env }, ...(opts.input !== undefined ? { input: opts.input } : {}) });
}

/** Runs the built CLI in a child process without blocking this one (test doubles in this process keep running). */
export function cliAsync(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: "1", ...opts.env }, stdio: ["ignore", "pipe", "pipe"], timeout: opts.timeoutMs ?? 120_000, killSignal: "SIGTERM" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.once("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** The built CLI started in a child process, to signal it: the child, and its end. */
export function cliChild(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): {
  child: ReturnType<typeof spawn>;
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; endedAt: number }>;
} {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: "1", ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; endedAt: number }>((resolve) => {
    // "exit", not "close": the moment the process ended (its pipes may close later).
    child.once("exit", (status, signal) => {
      const endedAt = performance.now();
      child.once("close", () => resolve({ status, signal, stdout, stderr, endedAt }));
    });
  });
  return { child, done };
}
