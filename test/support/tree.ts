import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";

/**
 * Everything under `dir` as text, for "every file byte-identical" assertions that also see
 * symbolic links (their text), directories and modes: path → "file 600 <sha256>", "link <text>",
 * "dir 700". `skip` leaves out paths (relative) that start with one of its entries.
 */
export async function treeOf(dir: string, skip: readonly string[] = []): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
      const s = await lstat(p);
      const mode = (s.mode & 0o7777).toString(8);
      if (s.isSymbolicLink()) out.set(rel, `link ${await readlink(p)}`);
      else if (s.isDirectory()) {
        out.set(rel, `dir ${mode}`);
        await walk(p);
      } else out.set(rel, `file ${mode} ${createHash("sha256").update(await readFile(p)).digest("hex")}`);
    }
  };
  await walk(dir);
  return out;
}

/** The lines of stderr that start with "error:". */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("error:"));
}
