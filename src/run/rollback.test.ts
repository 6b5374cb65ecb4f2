// The rollback of a component the kubelet never replaced: the kubelet dies after the run began, so
// kube-apiserver's annotated manifest is never acted on. Putting the backed-up manifest back leaves
// the kubelet nothing to do; the rollback proves the process from before the renewal still runs,
// healthy on the restored files, and reports the rollback (exit 7) instead of waiting for a
// restart that cannot come.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { RenewCertsError } from "../errors.js";
import { exitCodeFor } from "../cli/exit-codes.js";
import { runJob } from "./job.js";
import { readRunRecord } from "./state.js";

const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 3, fallbackAfterSeconds: 600 };

test("a kubelet that dies once the certificates are renewed: the rollback proves kube-apiserver still the process from before the renewal and ends with exit 7 without waiting out its health timeout again", async (t) => {
  const { root, kubelet } = await simulatedHost(t, { ageDays: 300 });
  const log = memoryLogger();
  const steps: string[] = [];
  const err = await runJob({
    root, settings, log, intervalMs: 50,
    onStep: (_kind, what) => {
      steps.push(what);
      // `systemctl stop kubelet` (or a crash) once the certificates are renewed, before the first
      // manifest edit: it acts on no manifest any more (stopService stops it before it yields).
      if (what === "state:restarting") void kubelet.stopService();
    },
  }).then(() => assert.fail("the run succeeded"), (e: unknown) => e as RenewCertsError);
  assert.ok(err instanceof RenewCertsError, String(err));
  assert.equal(exitCodeFor(err.code), 7, err.message);
  assert.equal(kubelet.active(), false, "nothing started the kubelet");
  assert.equal(kubelet.restarts("kube-apiserver"), 0);
  const msgs = log.lines.map((l) => l.msg);
  assert.ok(msgs.some((m) => /^kube-apiserver: still the process that ran before the renewal \(loopback certificate .+, started .+\): it runs the previous files; not restarted$/.test(m)), msgs.join("\n"));
  // One wait for kube-apiserver's restart, one for its rollback, which ended on the unchanged process.
  assert.deepEqual(steps.filter((s) => s.startsWith("wait:") || s === "state:rolled-back"), ["wait:kube-apiserver", "wait:kube-apiserver", "state:rolled-back"]);
  assert.equal(msgs.filter((m) => /after its manifest changed/.test(m)).length, 1, "only the renewal's restart timed out");
  assert.match(err.message, /kube-apiserver, never replaced by the kubelet, was proven still the process from before the renewal \(not restarted\), healthy on the previous certificates/);
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined);
});
