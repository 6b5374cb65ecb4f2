// The exit code table is the one source: exitCodeFor, run --help and the docs' table agree with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EXIT, EXIT_ROWS, exitCodeFor } from "./exit-codes.js";
import { runMain } from "./run-main.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** The docs' exit code table: the first table of docs/exit-codes.md (the second, "Error lines and what to do", has three columns). */
function docsTable(): { file: string; rows: Map<number, string> } {
  const file = `${REPO}docs/exit-codes.md`;
  const text = /^\| code \| meaning \|\n[\s\S]*?(?=\n\n)/m.exec(readFileSync(file, "utf8"))?.[0] ?? "";
  const rows = new Map<number, string>();
  for (const m of text.matchAll(/^\| (\d+) \| (.*) \|$/gm)) rows.set(Number(m[1]), m[2]!);
  return { file, rows };
}

test("every error code ends with exactly one exit code, and no two rows share a number", () => {
  const codes = EXIT_ROWS.map((r) => r.code);
  assert.equal(new Set(codes).size, codes.length);
  const errors = EXIT_ROWS.flatMap((r) => r.errors);
  assert.equal(new Set(errors).size, errors.length, "an error code in two rows");
  for (const r of EXIT_ROWS) for (const e of r.errors) assert.equal(exitCodeFor(e), r.code, e);
  assert.equal(EXIT.TERMINATED, 17);
  assert.equal(EXIT.KUBELET_DOWN, 16);
});

test("the docs' exit code table has one row per exit code, with the table's meaning", () => {
  const { file, rows } = docsTable();
  assert.deepEqual([...rows.keys()], EXIT_ROWS.map((r) => r.code), `${file}: the codes`);
  for (const r of EXIT_ROWS) assert.equal(rows.get(r.code), r.doc, `${file}: the meaning of ${r.code} (${r.name})`);
});

test("run --help lists every exit code run exits with, each with the table's words, and no other", async () => {
  let out = "";
  const code = await runMain(["run", "--help"], { stdout: (s) => { out += s; }, stderr: () => undefined, env: {}, isTTY: false, stderrIsTTY: false, readStdin: () => Promise.resolve("") });
  assert.equal(code, 0);
  const section = /^Exit codes:\n([\s\S]*?)\n(?=\S)/m.exec(out)?.[1];
  assert.ok(section, out);
  // Entries start with the code; wrapped words go on indented lines.
  const entries = section.split(/\n(?= {1,3}\d+ )/).map((e) => /^\s*(\d+)\s+([\s\S]*)$/.exec(e)!).map((m) => [Number(m[1]), m[2]!.replace(/\s+/g, " ")] as const);
  assert.deepEqual(entries, EXIT_ROWS.filter((r) => !r.notRun).map((r) => [r.code, r.summary]));
  assert.ok(!entries.some(([c]) => c === EXIT.DOCTOR_FAIL), "10 is doctor's");
});
