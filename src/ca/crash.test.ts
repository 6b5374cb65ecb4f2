import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cli } from "../../test/support/cli.js";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { recoverInterrupted, readRecord } from "../renewal/intent.js";
import { caStatus } from "./status.js";

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;
const STATE = "var/lib/renew-certs";

/** The control plane's files, without renew-certs' own state. */
function controlPlane(s: Awaited<ReturnType<typeof snapshot>>): Map<string, string> {
  return new Map([...s].filter(([p]) => !p.startsWith(STATE)).map(([p, f]) => [p, `${f.mode.toString(8)}:${f.bytes}`]));
}

/** True when every CA's trust locations hold its file's certificate, and its record names it (a renewal completed). */
async function allNewAndConsistent(root: string): Promise<void> {
  for (const ca of await caStatus(root, new Date(), 365)) {
    assert.ok(ca.deadline, `${ca.ca}: the record names the certificate in the CA file`);
    for (const l of ca.locations) assert.equal(l.holds, "current", `${ca.ca}: ${l.path} holds the CA file's certificate`);
  }
}

test("ca renew killed right after any durable step: the next run finds either every old file or every new one, consistent, and renews", async (t) => {
  const root0 = await copySandbox(t, ec);
  await mkdir(join(root0, "root/.kube"), { recursive: true });
  await copyFile(join(root0, "etc/kubernetes/admin.conf"), join(root0, "root/.kube/config"));
  const base = await mkdtemp(join(tmpdir(), "renew-certs-ca-crash-"));
  t.after(() => rm(base, { recursive: true, force: true }));
  const old = controlPlane(await snapshot(root0));
  const outcomes = { old: 0, new: 0 };
  for (let step = 1; ; step++) {
    const root = join(base, `s${step}`);
    await cp(root0, root, { recursive: true });
    const r = cli(["ca", "renew", "all", "--root", root], { env: { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(step) } });
    if (r.status === 0) {
      assert.ok(step > 25, `the renewal has an intent record and ~30 file steps (ended after ${step - 1})`);
      await allNewAndConsistent(root);
      break;
    }
    assert.equal(r.status, -1, `killed at step ${step}: ${r.stderr}`);
    const recovery = await recoverInterrupted(root, join(root, STATE));
    assert.equal(await readRecord(join(root, STATE)), undefined, "the recovery leaves no job record");
    const now = controlPlane(await snapshot(root));
    if (recovery.action === "completed") {
      outcomes.new++;
      assert.notDeepEqual(now, old);
      await allNewAndConsistent(root);
    } else {
      outcomes.old++;
      assert.deepEqual(now, old, `killed at step ${step}: the old set is back`);
      for (const ca of await caStatus(root, new Date(), 365)) assert.equal(ca.deadline, undefined, `${ca.ca}: no record of a renewal that did not happen`);
    }
    assert.deepEqual([...now.keys()].filter((p) => /\.renew-certs-[0-9a-f]{8}\.tmp$/.test(p)), [], "no temporary files left");
    // The next run goes on from there.
    const again = cli(["ca", "renew", "all", "--root", root]);
    assert.equal(again.status, 0, again.stderr);
    await allNewAndConsistent(root);
    await rm(root, { recursive: true, force: true });
  }
  t.diagnostic(`crash points: ${outcomes.old} rolled back to the old set, ${outcomes.new} completed to the new set`);
  assert.ok(outcomes.old > 0 && outcomes.new > 0);
});
