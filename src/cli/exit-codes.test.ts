import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { EXIT } from "./exit-codes.js";
import { RUN_EXIT_MEANINGS } from "../doctor/systemd-state.js";
import { cli } from "../../test/support/cli.js";

const PAGE = new URL("../../../docs/exit-codes.md", import.meta.url);

/** The codes in the first column of the table under `heading` (the page's first table when undefined). */
async function tableCodes(heading?: string): Promise<number[]> {
  const text = await readFile(PAGE, "utf8");
  const from = heading === undefined ? 0 : text.indexOf(heading);
  assert.ok(from >= 0, `docs/exit-codes.md has a section "${heading ?? ""}"`);
  const lines = text.slice(from).split("\n");
  const start = lines.findIndex((l) => l.startsWith("|---"));
  const rows = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("|")) break;
    rows.push(Number(l.split("|")[1]!.trim()));
  }
  return rows;
}

const codes: number[] = Object.values(EXIT).sort((a, b) => a - b);

test("docs/exit-codes.md has one row for every exit code, and none for a code renew-certs never exits with", async () => {
  assert.deepEqual(await tableCodes(), codes);
});

test("every exit code the error lines table of docs/exit-codes.md explains is one renew-certs exits with", async () => {
  const explained = await tableCodes("## Error lines and what to do");
  assert.ok(explained.length > 0);
  for (const c of explained) assert.ok(codes.includes(c), `exit ${c} is explained but not in EXIT`);
});

test("what doctor says of a run's exit code covers only exit codes there are", () => {
  for (const c of Object.keys(RUN_EXIT_MEANINGS).map(Number)) assert.ok(codes.includes(c), `RUN_EXIT_MEANINGS has ${c}, not in EXIT`);
});

test("run --help points to docs/exit-codes.md for the full table", () => {
  const r = cli(["run", "--help"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /docs\/exit-codes\.md has the full table/);
});
