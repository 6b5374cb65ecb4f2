import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blockStarts, ephemeralRange, portClaims } from "./port-claims.js";

const MODULE = new URL("./port-claims.js", import.meta.url).href;
/** A range that leaves one block, 10000–10099, outside it. */
const ONE_BLOCK: [number, number] = [10_100, 65_535];

test("the blocks lie outside the kernel's ephemeral range", async () => {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-ports-"));
  await writeFile(join(dir, "range"), "32768\t60999\n");
  assert.deepEqual(ephemeralRange(join(dir, "range")), [32_768, 60_999]);
  const starts = blockStarts([32_768, 60_999]);
  assert.equal(starts[0], 10_000);
  assert.ok(starts.every((s) => s + 99 < 32_768 || s > 60_999), "no block overlaps the range");
  assert.ok(starts.includes(32_600) && !starts.includes(32_700) && starts.includes(61_000));
  await rm(dir, { recursive: true });
});

test("a block held by another live process is never claimed; once that process has ended, it is free again", async () => {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-ports-"));
  // Another process claims the only block, says which, and stays until its stdin closes.
  const child = spawn(process.execPath, ["--input-type=module", "-e", `
    const { portClaims } = await import(${JSON.stringify(MODULE)});
    console.log(portClaims(${JSON.stringify(dir)}, ${JSON.stringify(ONE_BLOCK)}).claim());
    process.stdin.resume(); process.stdin.on("end", () => process.exit(0));`], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = (await once(child.stdout!, "data")) as [Buffer];
  assert.equal(line.toString().trim(), "10000");
  const mine = portClaims(dir, ONE_BLOCK);
  assert.equal(mine.claim(), undefined, "the other process holds it");
  child.stdin!.end();
  await once(child, "exit");
  assert.deepEqual(await readdir(dir), [], "a process gives up its claims at exit");
  assert.equal(mine.claim(), 10_000);
  mine.release();
  // A claim left by a process that ended without releasing it (SIGKILL) is stale.
  await writeFile(join(dir, "10000-999999999"), "");
  assert.equal(mine.claim(), 10_000);
  assert.deepEqual(await readdir(dir), [`10000-${process.pid}`]);
  mine.release();
  await rm(dir, { recursive: true });
});
