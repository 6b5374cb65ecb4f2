// Crash tests of the recovery of an expired control plane: `run` killed with SIGKILL right after each
// durable step of its own (the kubelet client certificate's record and write, the kubelet's restart,
// the fallback, the "still down" record), then run again: the next run must finish the recovery.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliAsync } from "../../test/support/cli.js";
import { simulatedHost } from "../../test/support/simulated.js";
import { pkiProblems, staleComponents } from "../../test/support/consistent.js";
import { readRecord } from "../renewal/intent.js";
import { readRunRecord } from "./state.js";

const sim = { timeScale: 0.005 };
type Host = Awaited<ReturnType<typeof simulatedHost>>;
const expiredHost = (t: Parameters<typeof simulatedHost>[0], o: Parameters<typeof simulatedHost>[1] = {}) => simulatedHost(t, { ageDays: 400, until: "started", sim, ...o });

async function configFor(root: string, extra = ""): Promise<string> {
  const file = join(root, "renew-certs.yaml");
  await writeFile(file, `nodeName: cp-1\nhealthTimeoutSeconds: 20\nfallbackAfterSeconds: 1\nleaseWaitSeconds: 5\nlockTimeoutSeconds: 5\n${extra}`);
  return file;
}
const runCli = (h: Host, config: string, env: Record<string, string> = {}) =>
  cliAsync(["run", "--root", h.root, "--config", config], { env: { RENEW_CERTS_TEST_PROBE_INTERVAL_MS: "50", ...env } });
const phaseOf = async (root: string): Promise<string> => (await readRecord(join(root, "var/lib/renew-certs")))?.phase ?? "none";

test("the recovery of an expired control plane killed after each of its own durable steps, then run again: it finishes on the renewed certificates, exit 0", async (t) => {
  // The steps of a whole recovery. Whether the kubelet's restart for its re-issued certificate
  // already unsticks kube-apiserver (no fallback then) depends on timing: probe until a run shows
  // the fallback too, so that its kill points are in the table.
  let all: { n: number; what: string }[] = [];
  for (let attempt = 0; attempt < 4 && !all.some((s) => s.what.startsWith("renamed fallback:restart-kubelet:kube-apiserver")); attempt++) {
    const probe = await expiredHost(t);
    const dir = await mkdtemp(join(tmpdir(), "renew-certs-steps-"));
    const stepLog = join(dir, "steps");
    await writeFile(stepLog, "");
    const whole = await runCli(probe, await configFor(probe.root), { RENEW_CERTS_TEST_STEP_LOG: stepLog });
    assert.equal(whole.status, 0, whole.stderr);
    all = (await readFile(stepLog, "utf8")).trim().split("\n").map((l) => { const [n, step, file] = l.split(" "); return { n: Number(n), what: `${step} ${(file ?? "").replace(probe.root + "/", "")}` }; });
    await rm(dir, { recursive: true, force: true });
    await probe.kubelet.stop();
  }
  // From the renewal's end (its own steps are killed in crash.test.ts) to the first proof.
  const from = all.findIndex((s) => s.what === "renamed state:renewed");
  const to = all.findIndex((s) => s.what === "renamed state:proven");
  const steps = all.slice(from, to + 1);
  assert.ok(steps.some((s) => s.what === "renamed kubelet-restarted"), steps.map((s) => s.what).join("\n"));
  assert.ok(steps.some((s) => s.what.startsWith("renamed fallback:restart-kubelet:kube-apiserver")));
  assert.ok(steps.some((s) => s.what.includes("var/lib/kubelet/pki/kubelet-client-current.pem")));
  const rows: string[][] = [];
  let next = 0;
  // Three rows at a time: each waits mostly on the doubles' timers.
  await Promise.all([0, 1, 2].map(async () => { for (let i = next++; i < steps.length; i = next++) await row(steps[i]!); }));
  async function row(s: { n: number; what: string }): Promise<void> {
    const h = await expiredHost(t);
    try {
      const config = await configFor(h.root);
      const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(s.n) });
      if (killed.signal !== "SIGKILL") throw new Error(`not killed at step ${s.n} (${s.what}): exit ${killed.status}`);
      const state = await phaseOf(h.root);
      const after = await runCli(h, config);
      await h.kubelet.settled();
      const problems = [
        ...(after.status === 0 ? [] : [`exit ${after.status}: ${after.stderr.trim().split("\n").pop()}`]),
        ...(/all healthy/.test(after.stdout) ? [] : ["no success summary"]),
        ...(await pkiProblems(h.root)),
        ...(await staleComponents(h.root, h.kubelet)),
        ...((await phaseOf(h.root)) === "none" ? [] : ["a job record is left"]),
      ];
      rows.push([String(s.n), s.what, state, problems.length === 0 ? "ok" : problems.join("; ")]);
    } catch (e) {
      rows.push([String(s.n), s.what, "?", `the test itself failed: ${String(e)}`]);
    } finally {
      await h.kubelet.stop();
    }
  }
  rows.sort((a, b) => Number(a[0]) - Number(b[0]));
  for (const r of rows) t.diagnostic(r.join("  "));
  assert.deepEqual(rows.filter((r) => r[3] !== "ok").map((r) => r.join(" | ")), []);
});

test("a run killed right after it recorded a component still down (exit 15 to come), then run again once the kubelet acts: it resumes and finishes", async (t) => {
  const h = await expiredHost(t, { frozen: true, behaviour: (c) => (c === "kube-apiserver" ? "down" : "healthy") });
  const config = await configFor(h.root, "manifests: [kube-apiserver]\n");
  await writeFile(config, (await readFile(config, "utf8")).replace("healthTimeoutSeconds: 20", "healthTimeoutSeconds: 3"));
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-steps-"));
  const stepLog = join(dir, "steps");
  await writeFile(stepLog, "");
  // A first, whole run: exit 15. Its last state write is the "still down" record.
  const first = await runCli(h, config, { RENEW_CERTS_TEST_STEP_LOG: stepLog });
  assert.equal(first.status, 15, first.stderr);
  const lines = (await readFile(stepLog, "utf8")).trim().split("\n");
  await rm(dir, { recursive: true, force: true });
  assert.match(lines[lines.length - 1]!, /renamed state:restarting$/, "the still-down record is the last step");
  // Again, killed right after that write this time (the resumed run's steps count from 1).
  await writeFile(join(h.root, "steps2"), "");
  const again = await runCli(h, config, { RENEW_CERTS_TEST_STEP_LOG: join(h.root, "steps2") });
  assert.equal(again.status, 15, again.stderr);
  const n = (await readFile(join(h.root, "steps2"), "utf8")).trim().split("\n").length;
  const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(n) });
  assert.equal(killed.signal, "SIGKILL");
  assert.equal((await readRunRecord(join(h.root, "var/lib/renew-certs")))?.stillDown?.component, "kube-apiserver");
  h.kubelet.setFrozen(false);
  h.kubelet.setBehaviour(() => "healthy");
  const next = await runCli(h, config);
  assert.equal(next.status, 0, next.stderr);
  assert.match(next.stdout, /finished the interrupted run: .*all healthy/);
  assert.deepEqual(await pkiProblems(h.root), []);
  assert.equal(await phaseOf(h.root), "none");
});
