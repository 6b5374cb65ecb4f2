import { spawnSync } from "node:child_process";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import type { SandboxOptions } from "../../src/sandbox/sandbox.js";
import { hasTool } from "./tools.js";
import { sharedSandbox } from "./sandbox.js";

// Real file systems for the tests whose behaviour comes from the kernel: an ext4 image on a loop
// device (chattr), a tmpfs with size= and nr_inodes=, read-only bind mounts. They need root; CI
// runs as root, so there a missing capability fails the test instead of skipping it.

/** True when this process may mount file systems and has `tools`; else skips (fails under CI=true). */
export function canMount(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((c) => !hasTool(c));
  const why = process.getuid?.() !== 0 ? "root (to mount file systems)" : missing.length > 0 ? `${missing.join(", ")} (apt-get install -y e2fsprogs mount)` : undefined;
  if (why === undefined) return true;
  if (process.env["CI"] === "true") assert.fail(`needs ${why}: CI runs as root and installs it`);
  t.skip(`needs ${why}`);
  return false;
}

/** Runs a command that must succeed (mount, chattr…), failing the test with its stderr otherwise. */
export function must(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}${r.error ? String(r.error) : ""}`);
}

/** Every mount point at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((p): p is string => p !== undefined);
  return points.map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))).filter((p) => p === dir || p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

/**
 * A fresh directory for mounts. After the test, even a failed one, every mount under it is undone
 * (lazily, deepest first, so that a busy mount never hangs the suite), then it and `alsoRemove`
 * are removed: one hook, because node:test runs after-hooks in the order they were added.
 */
export async function scratch(t: TestContext, alsoRemove: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-mnt-"));
  t.after(async () => {
    for (const p of mountsUnder(dir)) spawnSync("umount", ["-l", p]);
    await rm(dir, { recursive: true, force: true });
    for (const f of alsoRemove) await rm(f, { force: true });
  });
  return dir;
}

/** An ext4 file system of `mib` MiB on a loop device, mounted on a fresh scratch directory. */
export async function ext4(t: TestContext, mib = 16): Promise<string> {
  const image = join(tmpdir(), `renew-certs-ext4-${process.pid}-${Math.random().toString(36).slice(2)}.img`);
  const dir = await scratch(t, [image]);
  must("truncate", "-s", `${mib}M`, image);
  must("mkfs.ext4", "-q", "-F", image);
  must("mount", "-o", "loop", image, dir);
  return dir;
}

/** A tmpfs with options such as "size=1m,nr_inodes=200", mounted on a fresh scratch directory. */
export async function tmpfs(t: TestContext, options: string): Promise<string> {
  const dir = await scratch(t);
  must("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir);
  return dir;
}

/** Makes `path` (under a scratch directory) read-only through a read-only bind mount on itself. */
export function bindReadOnly(path: string): void {
  must("mount", "--bind", path, path);
  must("mount", "-o", "remount,bind,ro", path);
}

/** Bind-mounts `source` on `target` (under a scratch directory): a file on a file, as container runtimes mount secrets. */
export function bind(source: string, target: string): void {
  must("mount", "--bind", source, target);
}

/** Copies the shared sandbox for `opts` to `<dir>/root` and returns that root. */
export async function sandboxIn(dir: string, opts: SandboxOptions = {}): Promise<string> {
  const root = join(dir, "root");
  await cp(await sharedSandbox(opts), root, { recursive: true, preserveTimestamps: true });
  return root;
}

/** Fills the file system of `dir` until `leaveKiB` KiB are free (tmpfs counts in 4 KiB pages). */
export function fillSpace(dir: string, leaveKiB: number): void {
  const avail = Number(spawnSync("df", ["--output=avail", "-k", dir], { encoding: "utf8" }).stdout.trim().split("\n").pop());
  if (avail > leaveKiB) spawnSync("dd", ["if=/dev/zero", `of=${join(dir, "filler")}`, "bs=1k", `count=${avail - leaveKiB}`], { stdio: "ignore" });
}

/** Uses up the inodes of the file system of `dir` until `leave` are free. */
export function fillInodes(dir: string, leave: number): void {
  const free = Number(spawnSync("df", ["--output=iavail", dir], { encoding: "utf8" }).stdout.trim().split("\n").pop());
  const names = Array.from({ length: Math.max(0, free - leave) }, (_, i) => join(dir, `inode-filler-${i}`));
  for (let i = 0; i < names.length; i += 500) must("touch", ...names.slice(i, i + 500));
}
