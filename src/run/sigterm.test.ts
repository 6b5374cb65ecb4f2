// SIGTERM, as `systemctl stop renew-certs`, a shutdown or TimeoutStartSec send it: the built CLI's
// `run` on a simulated host whose controller manager never comes back is stopped while it waits
// for it. It must say at warning where it stopped and what the next run does, leave the job record
// as it was (every state is written before its effect), no temporary file, no lock and no held
// Lease, exit 17 promptly, and let the metrics file and doctor say so; the next run resumes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cli, cliAsync, cliChild } from "../../test/support/cli.js";
import { simulatedHost } from "../../test/support/simulated.js";
import { pkiProblems, staleComponents } from "../../test/support/consistent.js";
import { snapshot } from "../../test/support/sandbox.js";
import { storeFileOf } from "../simulator/store.js";
import { parseExposition } from "./metrics.js";
import { runJob } from "./job.js";
import { readRunRecord } from "./state.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { RenewCertsError } from "../errors.js";
import { exitCodeFor } from "../cli/exit-codes.js";

const STATE = "var/lib/renew-certs";
const KEY = DEFAULT_SETTINGS.annotationKey;

/** Resolves once `check` is true, probing every 20 ms; fails after `timeoutMs` (generous: an event, not a duration). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The restart Lease's holder in the API server double's store ("" once released). */
async function leaseHolder(root: string): Promise<string | undefined> {
  const store = JSON.parse(await readFile(storeFileOf(root), "utf8")) as { objects: Record<string, { spec?: { holderIdentity?: string } }> };
  return store.objects["leases/kube-system/renew-certs"]?.spec?.holderIdentity;
}

test("run stopped by SIGTERM while it waits for a component: a warning with the state and the next step, the record as it was, no temporary file, lock and Lease released, exit 17; the next run resumes and finishes", async (t) => {
  // kube-controller-manager crash-loops on every start after the first: the run waits for it until it is stopped.
  const h = await simulatedHost(t, { ageDays: 300, behaviour: (c, start) => (c === "kube-controller-manager" && start > 0 ? "down" : "healthy") });
  // The host's configuration file, which run and doctor both read.
  const config = join(h.root, "etc/renew-certs/config.yaml");
  await mkdir(dirname(config), { recursive: true });
  await writeFile(config, "nodeName: cp-1\nhealthTimeoutSeconds: 3600\nfallbackAfterSeconds: 3600\nleaseWaitSeconds: 30\nlockTimeoutSeconds: 30\n");
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-sigterm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const steps = join(dir, "steps");
  await writeFile(steps, "");
  const run = cliChild(["run", "--root", h.root], { env: { RENEW_CERTS_TEST_PROBE_INTERVAL_MS: "50", RENEW_CERTS_TEST_STEP_LOG: steps } });
  t.after(() => { run.child.kill("SIGKILL"); });

  // The event: the run has begun waiting for kube-controller-manager (its manifest changed, its record written).
  await until("the run waits for kube-controller-manager", async () => (await readFile(steps, "utf8")).includes(" wait:kube-controller-manager\n"));
  const record = await readFile(join(h.root, STATE, "job.json"), "utf8");
  assert.equal((JSON.parse(record) as { phase: string }).phase, "restarting");
  assert.equal(await leaseHolder(h.root), "cp-1", "the run holds the restart Lease while it waits");

  const sent = performance.now();
  run.child.kill("SIGTERM");
  const r = await run.done;
  const ms = r.endedAt - sent;
  t.diagnostic(`from SIGTERM to exit: ${ms.toFixed(0)} ms`);
  assert.equal(r.status, 17, r.stderr);
  assert.ok(ms < 30_000, `exited ${ms.toFixed(0)} ms after SIGTERM: well under systemd's 90 s`);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines.at(-1)!, /^warn: stopped by SIGTERM while restarting kube-controller-manager \(its manifest changed at \d{4}-\d\d-\d\dT[\d:.]+Z\): the next run will prove kube-controller-manager is a new, healthy process, then restart the rest$/);
  assert.deepEqual(lines.filter((l) => l.startsWith("error:")), []);
  assert.doesNotMatch(r.stderr, /rolling back/);

  // Nothing written after the stop: the record as it was, no temporary file, the lock gone, the Lease free.
  assert.equal(await readFile(join(h.root, STATE, "job.json"), "utf8"), record);
  assert.deepEqual([...(await snapshot(h.root)).keys()].filter((p) => /\.renew-certs-[0-9a-f]{8}\.tmp$|\/lock\//.test(p)), []);
  assert.equal(existsSync(join(h.root, STATE, "lock")), false, "the lock directory is removed");
  assert.equal(await leaseHolder(h.root), "", "the Lease is released");
  assert.match(r.stderr, /^info: released the renew-certs lease$/m);

  // The metrics file and doctor say how the run ended and what comes next.
  const metrics = parseExposition(await readFile(join(h.root, "var/lib/node_exporter/textfile_collector/renew_certs.prom"), "utf8")).samples;
  assert.equal(metrics.find((s) => s.name === "renew_certs_last_run_success")?.value, 0);
  assert.deepEqual(metrics.filter((s) => s.name === "renew_certs_last_run_exit_code").map((s) => [s.labels, s.value]), [[{ result: "stopped by SIGTERM; the next run resumes where it stopped" }, 17]]);
  const doctor = cli(["doctor", "--root", h.root]);
  assert.match(doctor.stdout, /^FAIL +last run +.*: failed with exit 17 \(stopped by SIGTERM; the next run resumes where it stopped\) \(from /m, doctor.stdout);
  assert.match(doctor.stdout, /^WARN +interrupted run +the last run stopped while restarting kube-controller-manager .*; the next run will prove kube-controller-manager is a new, healthy process, then restart the rest/m, doctor.stdout);

  // The controller manager can start again: the next run resumes the restart and finishes.
  h.kubelet.setBehaviour(() => "healthy");
  const next = await cliAsync(["run", "--root", h.root], { env: { RENEW_CERTS_TEST_PROBE_INTERVAL_MS: "50" } });
  await h.kubelet.settled();
  assert.equal(next.status, 0, next.stderr);
  assert.match(next.stderr, /^warn: the last run stopped while restarting kube-controller-manager .*: this run will prove kube-controller-manager is a new, healthy process, then restart the rest/m);
  assert.match(next.stdout, /^finished the interrupted run: renewed 11 certificate\(s\); restarted kube-apiserver .*, kube-controller-manager .*, kube-scheduler .*; all healthy$/m);
  assert.deepEqual([...(await pkiProblems(h.root)), ...(await staleComponents(h.root, h.kubelet))], []);
  assert.equal(existsSync(join(h.root, STATE, "job.json")), false);
});

test("a rollback stopped at a wait stays a rollback in its recorded phase, never claimed finished, and the next run completes and reports it (exit 7)", async (t) => {
  // The controller manager never comes back on the renewed files (annotated manifest); it does on the previous ones.
  const h = await simulatedHost(t, { ageDays: 300, behaviour: (c, _start, m) => (c === "kube-controller-manager" && m.annotations[KEY] ? "down" : "healthy") });
  // Long enough for a healthy restart on a loaded machine; the controller manager's wait always runs out.
  const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 30 };
  const stop = new AbortController();
  let apiserverWaits = 0;
  // The stop comes as the rollback begins to wait for kube-apiserver on the previous files (its second wait): an event, not a time.
  const onStep = (_step: string, what: string): void => {
    if (what === "wait:kube-apiserver" && ++apiserverWaits === 2) stop.abort("SIGTERM");
  };
  const err = await runJob({ root: h.root, settings, log: memoryLogger(), intervalMs: 50, onStep, signal: stop.signal }).then(() => assert.fail("the run succeeded"), (e: unknown) => e);
  assert.ok(err instanceof RenewCertsError && err.code === "TERMINATED", String(err));
  assert.equal(exitCodeFor(err.code), 17);
  assert.equal(err.message, "stopped by SIGTERM while restarting kube-apiserver onto the previous files: the next run will prove it, restart the rest, and report the rollback (exit 7)");
  const record = await readRunRecord(join(h.root, STATE));
  assert.equal(record?.phase, "restarting-previous");
  assert.equal(record?.rollback?.outcome, undefined, "the rollback is not recorded as ended");

  const log = memoryLogger();
  const next = await runJob({ root: h.root, settings: { ...settings, healthTimeoutSeconds: 120 }, log, intervalMs: 50 }).then(() => assert.fail("the next run succeeded"), (e: unknown) => e);
  await h.kubelet.settled();
  assert.ok(next instanceof RenewCertsError && next.code === "ROLLED_BACK", String(next));
  assert.ok(log.lines.some((l) => /^the last run stopped while restarting kube-apiserver onto the previous files: this run will prove it/.test(l.msg)), JSON.stringify(log.lines));
  assert.deepEqual(await pkiProblems(h.root), []);
  assert.equal(await readRunRecord(join(h.root, STATE)), undefined);
});
