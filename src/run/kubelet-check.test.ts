// A run on a host whose kubelet is stopped: refused at once (exit 16) with nothing written, unless
// the run itself brings the kubelet back (its expired client certificate re-issued, then restarted).
import { test } from "node:test";
import assert from "node:assert/strict";
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cliAsync } from "../../test/support/cli.js";
import { simulatedHost } from "../../test/support/simulated.js";
import { snapshot } from "../../test/support/sandbox.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { getHealthz, healthzEndpointOf } from "../kubelet/healthz.js";
import { runJob } from "./job.js";
import { KUBELET_DOWN_MESSAGE, withoutKubelet } from "./kubelet-check.js";
import { readRunRecord } from "./state.js";

const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 20, fallbackAfterSeconds: 1 };
const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

test("a due run with the kubelet stopped is refused before its first write: exit 16, one error, the tree byte-identical, no state or backup directory", async (t) => {
  const { root, kubelet } = await simulatedHost(t, { ageDays: 300 });
  const at = await healthzEndpointOf(root);
  assert.ok(at && at.port !== 10248, "the sandbox's kubelet config names a free healthz port");
  assert.deepEqual(await getHealthz(at, 60_000), { ok: true, detail: `http://127.0.0.1:${at.port}/healthz answered ok` }, "the double answers healthz like the real kubelet");
  await kubelet.stopService();
  assert.equal((await getHealthz(at, 60_000)).ok, false);
  assert.ok(kubelet.running("kube-apiserver"), "systemctl stop kubelet leaves the containers running");
  const config = join(root, "renew-certs.yaml");
  await writeFile(config, "nodeName: cp-1\nhealthTimeoutSeconds: 300\n");
  const before = await snapshot(root);
  const started = Date.now();
  const r = await cliAsync(["run", "--root", root, "--config", config]);
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`refused in ${seconds.toFixed(2)} s`);
  assert.equal(r.status, 16, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => /error/i.test(l));
  assert.equal(errors.length, 1, r.stderr);
  assert.ok(errors[0]!.includes(KUBELET_DOWN_MESSAGE), r.stderr);
  assert.match(errors[0]!, new RegExp(`nothing was changed; http://127\\.0\\.0\\.1:${at.port}/healthz: connection refused`));
  assert.deepEqual(await snapshot(root), before, "nothing written");
  assert.equal(await exists(join(root, "var/lib/renew-certs")), false, "no state directory, no lock, no backup");
  assert.equal(kubelet.restarts("kube-apiserver"), 0);
});

test("a stopped kubelet whose client certificate has expired is no reason to refuse: the run re-issues it, starts the kubelet, and ends proven", async (t) => {
  const { root, kubelet } = await simulatedHost(t, {
    ageDays: 400, until: "started",
    // The control plane's certificates renewed since, the kubelet's left expired (a kubelet that cannot start on it).
    prepare: async (r) => {
      const { renewCertificates } = await import("../renewal/renew.js");
      await renewCertificates({ root: r, names: ["all"], validityDays: 365, log: memoryLogger() });
    },
  });
  await kubelet.stopService();
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, intervalMs: 50 });
  assert.equal(outcome.kind, "renewed", log.lines.map((l) => l.msg).join("\n"));
  assert.ok(log.lines.some((l) => /^the kubelet is not running \(.*connection refused\); going on: this run re-issues the kubelet's client certificate, then restarts the kubelet$/.test(l.msg)), log.lines.map((l) => l.msg).join("\n"));
  assert.ok(kubelet.active(), "the run started the kubelet");
  assert.ok(kubelet.sourcesReady(), "and it reaches the API server with its re-issued certificate");
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined);
});

test("a run goes on without a running kubelet only when it restarts nothing or brings the kubelet back itself", () => {
  const base = { due: true, unfinished: undefined, kubeletRestartPending: false, kubeletClientReissued: false };
  assert.equal(withoutKubelet(base), undefined, "due, nothing brings the kubelet back: refused");
  assert.equal(withoutKubelet({ ...base, unfinished: "restarting" }), undefined, "an unfinished run's restarts need the kubelet too");
  assert.equal(withoutKubelet({ ...base, due: false }), "the run has nothing to restart");
  assert.match(withoutKubelet({ ...base, kubeletClientReissued: true }) ?? "", /re-issues the kubelet's client certificate/);
  assert.match(withoutKubelet({ ...base, unfinished: "proven", kubeletRestartPending: true }) ?? "", /restarts the kubelet/);
  assert.equal(withoutKubelet({ ...base, unfinished: "rolled-back" }), "the last run is only left to report its rollback");
});

