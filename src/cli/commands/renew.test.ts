import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cli } from "../../../test/support/cli.js";
import { copySandbox, snapshot } from "../../../test/support/sandbox.js";
import { joinNegativeValues } from "../run-main.js";
import { renewCommand } from "./renew.js";

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;

const badFlags: [string[], RegExp][] = [
  [["--validity-days", "-5"], /^error: --validity-days must be a whole number of days from 1 to 3650 \(got -5\)$/],
  [["--validity-days=0"], /^error: --validity-days must be a whole number of days from 1 to 3650 \(got 0\)$/],
  [["--lock-timeout", "-1"], /^error: --lock-timeout must be a whole number of seconds from 0 to 86400 \(got -1\)$/],
  [["--lock-timeout", "1m"], /^error: --lock-timeout must be a whole number of seconds from 0 to 86400 \(got 1m\)$/],
  [["--validity-days", "3651"], /^error: --validity-days must be a whole number of days from 1 to 3650 \(got 3651\)$/],
  [["--lock-timeout", "1000000000"], /^error: --lock-timeout must be a whole number of seconds from 0 to 86400 \(got 1000000000\)$/],
];

for (const [flags, expect] of badFlags) {
  test(`renew all ${flags.join(" ")} says what the option takes in one line, exit 2, every file unchanged`, async (t) => {
    const root = await copySandbox(t, ec);
    const before = await snapshot(root);
    const r = cli(["renew", "all", ...flags, "--root", root]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trimEnd(), expect);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.deepEqual(await snapshot(root), before);
  });
}

test("a negative number after a string option is its value; after a boolean one or inside another value it is left alone", () => {
  assert.deepEqual(joinNegativeValues(["all", "--validity-days", "-5", "--dry-run", "-3"], renewCommand.options), ["all", "--validity-days=-5", "--dry-run", "-3"]);
  assert.deepEqual(joinNegativeValues(["--validity-days=-5", "--root", "-x"], renewCommand.options), ["--validity-days=-5", "--root", "-x"]);
});

test("an unknown option is one line naming it, without node's hints about its own syntax", () => {
  const r = cli(["renew", "all", "--no-such"]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "error: Unknown option '--no-such'; see renew-certs renew --help\n");
});

test("run reads and checks every kubeconfig before its first write: an unparseable one exits 4 with every file unchanged", async (t) => {
  const root = await copySandbox(t, ec);
  const file = join(root, "etc/kubernetes/controller-manager.conf");
  await writeFile(file, (await readFile(file, "utf8")).replace("current-context:", "current-context: [broken"));
  const before = await snapshot(root);
  const r = cli(["run", "--root", root]);
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /^error: kubeconfig \S+controller-manager\.conf is not valid YAML \(line \d+\): restore it from a backup$/m);
  assert.deepEqual(await snapshot(root), before);
});
