// docs/design.md against the code: its layout table names every product file in the row of its
// folder, and every folder of src/ and test/ has a row; its table of the states of `run` names every
// phase of the record, each with one module that exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO } from "./markdown.js";

const DESIGN = readFileSync(join(REPO, "docs/design.md"), "utf8");

/** The section of design.md under `heading`, up to the next heading of the same level. */
function section(heading: string): string {
  const from = DESIGN.indexOf(`\n${heading}\n`);
  assert.ok(from >= 0, `docs/design.md has a section "${heading}"`);
  const next = DESIGN.indexOf("\n## ", from + heading.length + 1);
  return DESIGN.slice(from, next < 0 ? undefined : next);
}

/** The layout table's rows, by the folder (or file) in their first cell. */
function layoutRows(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const l of section("## Layout").split("\n")) {
    const m = /^\| ((?:`[^`]+`(?:, )?)+) \|(.*)$/.exec(l);
    if (m) for (const name of m[1]!.matchAll(/`([^`]+)`/g)) rows.set(name[1]!, m[2]!);
  }
  return rows;
}

/** Files under `dir` (relative to the repository), recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir)).flatMap((n) => {
    const p = `${dir}/${n}`;
    return statSync(join(REPO, p)).isDirectory() ? filesUnder(p) : [p];
  });
}

test("the layout table of docs/design.md names every product file of src/ in the row of its folder", () => {
  const rows = layoutRows();
  const missing: string[] = [];
  for (const f of filesUnder("src").filter((p) => p.endsWith(".ts") && !p.endsWith(".test.ts"))) {
    if (rows.has(f)) continue; // a file with its own row (src/errors.ts)
    const parts = f.split("/");
    const folder = parts.slice(0, 2).join("/");
    const row = rows.get(folder);
    const inside = relative(folder, f);
    // A nested folder may be named as a whole ("commands/"); a file by its name or its path in the folder.
    const named = row !== undefined && (row.includes(`\`${parts[parts.length - 1]}\``) || row.includes(`\`${inside}\``) || (parts.length > 3 && row.includes(`\`${parts[2]}/\``)));
    if (!named) missing.push(row === undefined ? `${f} (no row for ${folder})` : f);
  }
  assert.deepEqual(missing, [], `add these to the layout table of docs/design.md: ${missing.join(", ")}`);
});

test("every folder of test/ has a row in the layout table of docs/design.md", () => {
  const rows = layoutRows();
  const folders = readdirSync(join(REPO, "test")).filter((n) => statSync(join(REPO, "test", n)).isDirectory()).map((n) => `test/${n}`);
  assert.deepEqual(folders.filter((f) => !rows.has(f)), []);
});

test("the states table of docs/design.md names every phase of a run, each handled by one module that exists", () => {
  const state = readFileSync(join(REPO, "src/run/state.ts"), "utf8");
  const phases = [...(/export type RunPhase = ([^;]+);/.exec(state)?.[1] ?? "").matchAll(/"([\w-]+)"/g)].map((m) => m[1]!);
  assert.ok(phases.length > 0, "RunPhase read from src/run/state.ts");
  const rows = section("## The states of `run`").split("\n").filter((l) => /^\| [^-]/.test(l) && !l.startsWith("| state"));
  for (const p of [...phases, "renewing"]) {
    const row = rows.find((r) => r.split("|")[1]!.includes(`\`${p}\``));
    assert.ok(row, `a row for the state ${p}`);
  }
  for (const r of rows) {
    const modules = [...r.split("|")[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    assert.equal(modules.length, 1, `one module handles each state: ${r}`);
    assert.ok(existsSync(join(REPO, modules[0]!)), `${modules[0]!} exists`);
  }
});
