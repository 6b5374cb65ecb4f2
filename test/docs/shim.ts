// `npx renew-certs …` as the runnable examples of the documentation run it: the CLI built in build/,
// in a child process, as a user would. One shortcut, because keys are slow to generate: a sandbox
// asked for with the same options as an earlier one in the same test is a copy of that one (the
// first is made by the real command, whose output is shown). Every other command runs as written.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Runs the CLI with `args`, inheriting stdin, stdout and stderr; returns its exit status. */
function cli(args: string[]): number {
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: "inherit" });
  return r.status ?? 1;
}

/** `sandbox DIR OPTIONS…` from the cache in `cacheDir`, made by the real command the first time. */
function sandbox(cacheDir: string, args: string[]): number {
  const [dir, ...options] = args.slice(1);
  if (!dir || dir.startsWith("-")) return cli(args);
  const made = join(cacheDir, Buffer.from(JSON.stringify(options)).toString("base64url"));
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) return cli(args); // let the command refuse it
  if (existsSync(made)) {
    cpSync(made, target, { recursive: true, preserveTimestamps: true });
    process.stdout.write(`sandbox control plane written to ${dir} (a copy of the one made earlier with ${options.join(" ") || "no options"})\n`);
    return 0;
  }
  const status = cli(args);
  if (status === 0) cpSync(target, made, { recursive: true, preserveTimestamps: true });
  return status;
}

const args = process.argv.slice(2);
const cacheDir = process.env["RENEW_CERTS_DOCS_SANDBOX_CACHE"];
process.exitCode = args[0] === "sandbox" && cacheDir ? sandbox(cacheDir, args) : cli(args);
