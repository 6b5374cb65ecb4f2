// A minimal Debian root with systemd, made by debootstrap from Debian's own packages, for booting
// under systemd-nspawn. Made once and cached under the project (.cache/, git-ignored), keyed on
// everything that goes into it, so a change to the recipe makes a new one. The cached root is
// never booted writable: containers run it with --volatile=overlay (see container.ts).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** What goes into the root: bump `recipe` when the steps after debootstrap change. */
export const RECIPE = {
  recipe: 1,
  suite: "bookworm",
  variant: "minbase",
  // systemd as PID 1, D-Bus for systemctl and systemd-run, and the shared libraries of the
  // standalone executable (a copy of node: libstdc++ and libgcc_s).
  include: ["systemd", "systemd-sysv", "dbus", "libstdc++6"],
} as const;

/** Where the cached roots live: <repository>/.cache/systemd-test. */
export const CACHE_DIR = fileURLToPath(new URL("../../../.cache/systemd-test/", import.meta.url));

/**
 * The Debian mirror the host's apt uses for the suite (deb822 or one-line sources), so that
 * debootstrap works wherever apt does; RENEW_CERTS_DEBIAN_MIRROR overrides it. Undefined: the
 * debootstrap default.
 */
export function debianMirror(): string | undefined {
  const override = process.env["RENEW_CERTS_DEBIAN_MIRROR"];
  if (override) return override;
  const files = ["/etc/apt/sources.list", ...(existsSync("/etc/apt/sources.list.d") ? readdirSync("/etc/apt/sources.list.d").map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  for (const file of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(file, "utf8");
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uri && suites.includes(RECIPE.suite) && /\/debian\/?$/.test(uri)) return uri;
    }
    const line = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+/debian/?)\\s+${RECIPE.suite}\\s`, "m").exec(text);
    if (line) return line[1];
  }
  return undefined;
}

/** The cache key: the recipe, the debootstrap version and the mirror (a different archive, a different root). */
function cacheKey(mirror: string | undefined): string {
  const version = spawnSync("dpkg-query", ["-W", "-f=${Version}", "debootstrap"], { encoding: "utf8" }).stdout ?? "";
  return createHash("sha256").update(JSON.stringify({ ...RECIPE, debootstrap: version, mirror: mirror ?? "" })).digest("hex").slice(0, 16);
}

/**
 * The path of a booted-never Debian root for RECIPE, made now (about a minute, network bound)
 * unless the cache has it. Built beside its final place and renamed, so an interrupted build is
 * never taken for a finished one; `log` hears what takes time.
 */
export async function debianRoot(log: (line: string) => void = () => undefined): Promise<string> {
  const mirror = debianMirror();
  const dir = join(CACHE_DIR, `debian-${RECIPE.suite}-${cacheKey(mirror)}`);
  if (existsSync(join(dir, ".complete"))) return dir;
  await mkdir(CACHE_DIR, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  log(`debootstrap ${RECIPE.suite} (${RECIPE.variant} + ${RECIPE.include.join(", ")}) into ${tmp}`);
  const args = [`--variant=${RECIPE.variant}`, `--include=${RECIPE.include.join(",")}`, RECIPE.suite, tmp, ...(mirror ? [mirror] : [])];
  const r = spawnSync("debootstrap", args, { encoding: "utf8", timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    await rm(tmp, { recursive: true, force: true });
    const tail = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`debootstrap ${args.join(" ")} failed (${r.status ?? r.signal}):\n${tail}`);
  }
  // Each boot gets its own machine id (an empty file: systemd makes a transient one at boot).
  await writeFile(join(tmp, "etc/machine-id"), "");
  const archives = join(tmp, "var/cache/apt/archives");
  for (const deb of readdirSync(archives).filter((f) => f.endsWith(".deb"))) await rm(join(archives, deb));
  await writeFile(join(tmp, ".complete"), `${JSON.stringify({ ...RECIPE, mirror })}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  // Roots of earlier recipes are not used again.
  for (const old of readdirSync(CACHE_DIR).filter((f) => f.startsWith("debian-") && join(CACHE_DIR, f) !== dir && !f.includes(".tmp-"))) {
    await rm(join(CACHE_DIR, old), { recursive: true, force: true });
  }
  return dir;
}
