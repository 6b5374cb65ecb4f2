import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";

/** True when `cmd` is on PATH. */
export function hasTool(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/**
 * Checks that a real component is installed. Locally a missing one skips the test with a
 * message; under CI=true it fails, because CI installs every real component.
 */
export function needTools(t: TestContext, ...cmds: string[]): boolean {
  const missing = cmds.filter((c) => !hasTool(c));
  if (missing.length === 0) return true;
  const msg = `needs ${missing.join(", ")} (apt-get install -y etcd-server etcd-client openssl; kubectl; systemd)`;
  if (process.env["CI"] === "true") assert.fail(`${msg}: CI must install it`);
  t.skip(msg);
  return false;
}

/** Runs a command and returns its status and output (never throws). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: opts.env ?? process.env, input: opts.input, cwd: opts.cwd, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}
