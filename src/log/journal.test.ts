import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "../../test/support/cli.js";
import { createLogger } from "./logger.js";
import { isJournalStream, withPriority } from "./journal.js";

const fd = { dev: 2049n, ino: 123456789012345678n };

test("JOURNAL_STREAM names the journal only when both its device and its inode are those of the descriptor", () => {
  assert.equal(isJournalStream("2049:123456789012345678", fd), true, "inode numbers past 2^53 compare exactly");
  assert.equal(isJournalStream("2049:123456789012345679", fd), false);
  assert.equal(isJournalStream("2050:123456789012345678", fd), false);
  for (const bad of [undefined, "", "2049", "2049:", ":1", "x:1", "2049:1:2", " 2049:123456789012345678"]) {
    assert.equal(isJournalStream(bad, fd), false, String(bad));
  }
  assert.equal(isJournalStream("2049:123456789012345678", undefined), false);
});

test("every line of a text gets the level's syslog priority, and empty lines stay empty", () => {
  assert.equal(withPriority("error", "error: one\n"), "<3>error: one\n");
  assert.equal(withPriority("warn", "a\nb\n\nc"), "<4>a\n<4>b\n\n<4>c");
  assert.equal(withPriority("info", "x\n"), "<6>x\n");
  assert.equal(withPriority("debug", "x\n"), "<7>x\n");
});

test("a logger for the journal prefixes each level with its priority, in text and JSON", () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), journal: true, verbose: true });
  log.debug("d");
  log.info("i", { file: "/etc/kubernetes/pki/ca.crt" });
  log.warn("w");
  log.error("e\nsecond line");
  assert.deepEqual(lines, ["<7>debug: d\n", "<6>info: i file=/etc/kubernetes/pki/ca.crt\n", "<4>warn: w\n", "<3>error: e\n<3>second line\n"]);
  const json: string[] = [];
  createLogger({ write: (l) => json.push(l), journal: true, format: "json", now: () => new Date(0) }).warn("w");
  assert.deepEqual(json, ['<4>{"time":"1970-01-01T00:00:00.000Z","level":"warn","msg":"w"}\n']);
});

/** Runs the CLI with stderr on a file, and JOURNAL_STREAM naming that file or another one. */
async function stderrOf(t: TestContext, args: string[], journal: "this file" | "another file" | "unset"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-journal-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "stderr");
  const other = join(dir, "other");
  const err = openSync(file, "w");
  const otherFd = openSync(other, "w");
  const id = (n: number): string => { const s = fstatSync(n, { bigint: true }); return `${s.dev}:${s.ino}`; };
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env["JOURNAL_STREAM"];
  if (journal !== "unset") env["JOURNAL_STREAM"] = id(journal === "this file" ? err : otherFd);
  spawnSync(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", err], env });
  closeSync(err);
  closeSync(otherFd);
  return readFileSync(file, "utf8");
}

test("the CLI prefixes its stderr lines with their priority only when stderr is the journal stream", async (t) => {
  const args = ["status", "--root", "/nonexistent/renew-certs-root"];
  assert.match(await stderrOf(t, args, "this file"), /^<3>error: root \/nonexistent\/renew-certs-root does not exist/);
  assert.match(await stderrOf(t, args, "another file"), /^error: root \/nonexistent/);
  assert.match(await stderrOf(t, args, "unset"), /^error: root \/nonexistent/);
  const usage = await stderrOf(t, ["nope"], "this file");
  assert.match(usage, /^<3>error: unknown command "nope"\n\n<3>renew-certs /);
  assert.deepEqual(usage.split("\n").filter((l) => l !== "" && !l.startsWith("<3>")), [], "every line of the usage that follows is an error line too");
});
