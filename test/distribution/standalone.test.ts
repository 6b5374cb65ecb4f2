// The distribution as users get it: the single-file bundle run by `node` with no node_modules,
// and the standalone executable run where no `node` can be found. Both are built by the same
// script as `npm run build`, once per test run for the code under test (test/support/dist.ts).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../support/tools.js";
import { builtDistribution } from "../support/dist.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const VERSION = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string }).version;

let out = "";
/** Where the bundle and the executable are. */
let dist = "";
let root = "";
/** A PATH with no node on it: an empty directory. */
let noNodePath = "";

before(async () => {
  out = await mkdtemp(join(tmpdir(), "renew-certs-dist-"));
  // Synchronously: an "exit" listener cannot wait for a promise.
  process.once("exit", () => rmSync(out, { recursive: true, force: true }));
  dist = await builtDistribution();
  noNodePath = join(out, "empty-path");
  await import("node:fs/promises").then((fs) => fs.mkdir(noNodePath));
  root = join(out, "cp");
});

/** Runs the standalone executable in an environment where no node can be found. */
function standalone(args: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  return run(join(dist, "renew-certs"), args, { env: { PATH: noNodePath, HOME: out, NO_COLOR: "1", ...env }, cwd: out });
}

test("no node can be found in the standalone executable's environment", () => {
  const r = run("/bin/sh", ["-c", "command -v node nodejs || echo none"], { env: { PATH: noNodePath } });
  assert.equal(r.stdout.trim(), "none");
});

test("the bundle runs with node and no node_modules, and prints the version", async () => {
  assert.ok((await stat(join(dist, "renew-certs.cjs"))).isFile());
  const r = run(process.execPath, [join(dist, "renew-certs.cjs"), "--version"], { cwd: out });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${VERSION}\n`);
});

test("the standalone executable prints the version and its help without node", () => {
  const v = standalone(["--version"]);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout, `${VERSION}\n`);
  assert.equal(v.stderr, "");
  const h = standalone(["install", "--help"]);
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /^Usage: renew-certs install/);
});

test("the standalone executable creates a sandbox without node", () => {
  const r = standalone(["sandbox", root, "--key-type", "ecdsa-p256", "--age-days", "300"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /sandbox control plane written to/);
});

/**
 * The commands exercised on that sandbox by the standalone executable, in order; each checks its
 * own output. Adding a command (renew all, run…) is one line.
 */
const ON_SANDBOX: { args: (root: string) => string[]; expect: RegExp }[] = [
  { args: (r) => ["status", "--root", r], expect: /^apiserver\s+.*\s65d\s+300d\s+ca\s+no$/m },
  { args: (r) => ["status", "--root", r, "-o", "json"], expect: /"name": "etcd-server"/ },
  { args: (r) => ["renew", "all", "--root", r], expect: /^11 certificate\(s\) renewed; backup in / },
  { args: (r) => ["status", "--root", r], expect: /^apiserver\s+.*\s365d\s+\d+s\s+ca\s+no$/m },
];

for (const c of ON_SANDBOX) {
  test(`the standalone executable runs "${c.args("DIR").join(" ")}" on the sandbox without node`, () => {
    const r = standalone(c.args(root));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, c.expect);
  });
}

test("the standalone executable still works when V8 rejects its code cache (other V8 flags)", () => {
  const r = standalone(["status", "--root", root], { NODE_OPTIONS: "--stack-trace-limit=20" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^apiserver\s+.*\s365d\s+\d+s\s+ca\s+no$/m);
});

test("the standalone executable reports a bad command line with exit code 2, as the node build does", () => {
  const r = standalone(["status", "--no-such-flag"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: Unknown option '--no-such-flag'/);
});

test("the standalone executable installs itself into a --root without --binary, and reports no change the second time", async () => {
  const host = join(out, "host");
  await import("node:fs/promises").then((fs) => fs.mkdir(host));
  const r = standalone(["install", "--root", host]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /create {2}\/usr\/local\/bin\/renew-certs \(0755\) — from /);
  // No systemd-analyze on this PATH: the schedule cannot be checked, and install says so.
  assert.match(r.stdout, /note: systemd-analyze is not installed, so the schedule was not checked/);
  assert.deepEqual(await readFile(join(host, "usr/local/bin/renew-certs")), await readFile(join(dist, "renew-certs")));
  const again = standalone(["install", "--root", host]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /no change/);
  const installed = run(join(host, "usr/local/bin/renew-certs"), ["--version"], { env: { PATH: noNodePath } });
  assert.equal(installed.stdout, `${VERSION}\n`);
});
