// The distribution (dist/renew-certs.cjs and the standalone dist/renew-certs) built once per test
// run for every test that needs it: `scripts/build.mjs` takes about 40 s, mostly postject. Built
// into <repository>/.cache/dist/<key>, where the key hashes everything that goes into it (the
// compiled code, package.json, the build script, the node binary), so a changed input always
// builds anew; built beside its place and renamed, so a half-made one is never used; a lock file
// makes the test files that run at once wait for one build.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const CACHE = join(REPO, ".cache/dist");

/** Hashes every file under `dir` (names and bytes), in a fixed order. */
function hashTree(hash: ReturnType<typeof createHash>, dir: string): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) hashTree(hash, p);
    else if (!name.endsWith(".test.js")) hash.update(p.slice(REPO.length)).update(readFileSync(p));
  }
}

/** The cache key of the distribution built from the current build/ tree. */
function key(): string {
  const h = createHash("sha256");
  hashTree(h, join(REPO, "build/src"));
  for (const f of ["package.json", "package-lock.json", "scripts/build.mjs"]) h.update(readFileSync(join(REPO, f)));
  const node = statSync(process.execPath);
  h.update(`${process.execPath} ${node.size} ${node.mtimeMs}`);
  return h.digest("hex").slice(0, 16);
}

/** True while the process that wrote `lock` (its pid inside) lives. */
function held(lock: string): boolean {
  try {
    process.kill(Number(readFileSync(lock, "utf8")), 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The directory holding renew-certs.cjs and the standalone renew-certs for the code under test;
 * built now unless cached. Test files run in parallel: one builds, the others wait for it.
 */
export async function builtDistribution(): Promise<string> {
  const dir = join(CACHE, key());
  await mkdir(CACHE, { recursive: true });
  const lock = join(CACHE, "build.lock");
  for (;;) {
    if (existsSync(join(dir, "renew-certs"))) return dir;
    try {
      await writeFile(lock, String(process.pid), { flag: "wx" });
      break;
    } catch {
      // Another process builds (its pid in the lock): wait for it; a dead one's lock is taken over.
      if (!held(lock)) await rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (!existsSync(join(dir, "renew-certs"))) await build(dir);
  } finally {
    await rm(lock, { force: true });
  }
  return dir;
}

/** Builds into `dir` (beside it, then renamed) and removes the builds of other inputs. */
async function build(dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  // Minutes, not seconds, on a busy machine: postject rewrites a 100 MB copy of node.
  const b = spawnSync(process.execPath, [join(REPO, "scripts/build.mjs"), "--out", tmp], { cwd: REPO, encoding: "utf8", timeout: 900_000 });
  if (b.status !== 0) throw new Error(`build failed (${b.status ?? b.signal}): ${b.stdout}${b.stderr}`);
  await rename(tmp, dir);
  for (const old of readdirSync(CACHE).filter((n) => join(CACHE, n) !== dir && !n.includes(".tmp-") && n !== "build.lock")) await rm(join(CACHE, old), { recursive: true, force: true });
}
