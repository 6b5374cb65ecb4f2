import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, readFile, rm, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { acquireLock } from "./lock.js";
import { processIdentity } from "../util/proc.js";
import { RenewCertsError } from "../errors.js";

const HOLDER = fileURLToPath(new URL("../../test/support/lock-holder.js", import.meta.url));

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "renew-certs-lock-"));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

function contenders(dir: string, log: string, n: number, rounds: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, () => new Promise<number>((resolve) => {
    const c = spawn(process.execPath, [HOLDER, dir, log, String(rounds)], { stdio: "inherit" });
    c.once("exit", (code) => resolve(code ?? -1));
  })));
}

/** The log as critical sections; throws when two overlap. */
function sections(text: string): string[] {
  const lines = text.trim().split("\n");
  const holders: string[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const [a, b] = [lines[i]!.split(" "), lines[i + 1]?.split(" ")];
    assert.equal(a[0], "enter", `line ${i + 1}: ${lines[i]}`);
    assert.deepEqual(b, ["leave", a[1]], `line ${i + 2}: another process entered while ${a[1]} held the lock:\n${lines.slice(Math.max(0, i - 2), i + 4).join("\n")}`);
    holders.push(a[1]!);
  }
  return holders;
}

test("six processes taking the lock ten times each never overlap", async (t) => {
  const d = await tempDir(t);
  const log = join(d, "log");
  await writeFile(log, "");
  const codes = await contenders(join(d, "lock"), log, 6, 10);
  assert.deepEqual(codes, [0, 0, 0, 0, 0, 0]);
  const holders = sections(await readFile(log, "utf8"));
  assert.equal(holders.length, 60);
  assert.equal(new Set(holders).size, 6);
  assert.deepEqual(await readdir(d), ["log"], "every entry released, and the empty lock directory removed");
});

test("entries of dead processes, choosing or numbered, are taken over without two holders", async (t) => {
  const d = await tempDir(t);
  const dir = join(d, "lock");
  await mkdir(dir);
  const boot = processIdentity().boot;
  // A pid that is not running, one killed while choosing, and our own pid with another start time (a reused pid).
  await writeFile(join(dir, "999999-1"), JSON.stringify({ pid: 999999, startTicks: 1, boot, number: 1 }));
  await writeFile(join(dir, "999998-2"), JSON.stringify({ pid: 999998, startTicks: 2, boot, number: null }));
  await writeFile(join(dir, `${process.pid}-3`), JSON.stringify({ pid: process.pid, startTicks: 3, boot, number: 2 }));
  await writeFile(join(dir, "4242-9"), JSON.stringify({ pid: 4242, startTicks: 9, boot: "another-boot", number: 1 }));
  const log = join(d, "log");
  await writeFile(log, "");
  assert.deepEqual(await contenders(dir, log, 5, 6), [0, 0, 0, 0, 0]);
  assert.equal(sections(await readFile(log, "utf8")).length, 30);
  assert.deepEqual(await readdir(d), ["log"]);
});

test("a live process's entry is never taken, even while it is still choosing its number", async (t) => {
  const d = await tempDir(t);
  const dir = join(d, "lock");
  await mkdir(dir);
  const me = processIdentity();
  // What a contender that has just started looks like: an entry without a number yet.
  await writeFile(join(dir, `${me.pid}-${me.startTicks}-0`), JSON.stringify({ ...me, number: null }));
  const child = spawn(process.execPath, ["--input-type=module", "-e", `
    const { acquireLock } = await import(${JSON.stringify(new URL("./lock.js", import.meta.url).href)});
    try { await acquireLock(${JSON.stringify(dir)}, 800); console.log("took it"); } catch (e) { console.log(e.code + ": " + e.message); }`], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (b: Buffer) => { out += b.toString(); });
  await new Promise((r) => child.once("exit", r));
  assert.match(out, new RegExp(`^LOCKED: another renew-certs run \\(pid ${me.pid}\\) holds .*lock: wait for it to finish`));
  assert.deepEqual(await readdir(dir), [`${me.pid}-${me.startTicks}-0`], "the waiter removed only its own entry");
});

test("two acquisitions in one process exclude each other too", async (t) => {
  const d = await tempDir(t);
  const lock = await acquireLock(join(d, "lock"), 1000);
  const err = await acquireLock(join(d, "lock"), 300).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof RenewCertsError && err.code === "LOCKED", String(err));
  assert.match(err.message, new RegExp(`\\(pid ${process.pid}\\)`));
  await lock.release();
  const again = await acquireLock(join(d, "lock"), 300);
  await again.release();
});

test("SIGTERM while waiting for the lock ends the wait at once with TERMINATED, and leaves no entry of ours", async (t) => {
  const d = await tempDir(t);
  const lock = await acquireLock(join(d, "lock"), 1000);
  const stop = new AbortController();
  // Waiting up to an hour: only the stop can end it.
  const waiting = acquireLock(join(d, "lock"), 3_600_000, undefined, stop.signal).then(() => undefined, (e: unknown) => e);
  // The event: our entry is in the directory (we are in line), then the stop.
  for (let i = 0; i < 4500 && (await readdir(join(d, "lock"))).filter((n) => !n.startsWith(".")).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  stop.abort("SIGTERM");
  const err = await waiting;
  assert.ok(err instanceof RenewCertsError && err.code === "TERMINATED", String(err));
  assert.equal(err.message, "stopped by SIGTERM");
  assert.equal((await readdir(join(d, "lock"))).length, 1, "only the holder's entry is left");
  await lock.release();
});
