// Crash tests of the recovery of an expired control plane: `run` killed with SIGKILL right after each
// durable step of its own (the kubelet client certificate's record and write, the kubelet's restart,
// the fallback, the "still down" record), then run again: the next run must finish the recovery.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { apiserverBackedOff, simulatedHost } from "../../test/support/simulated.js";
import { pkiProblems } from "../../test/support/consistent.js";
import { crashTable, firstWords, indexOf, phaseOf, runCli, stepsOf, successProblems } from "../../test/support/crash-table.js";
import { readRunRecord } from "./state.js";

const sim = { timeScale: 0.005 };
const expiredHost = (t: Parameters<typeof simulatedHost>[0], o: Parameters<typeof simulatedHost>[1] = {}) => simulatedHost(t, { ageDays: 400, until: "started", sim, ...o });

async function configFor(root: string, extra = ""): Promise<string> {
  const file = join(root, "renew-certs.yaml");
  await writeFile(file, `nodeName: cp-1\nhealthTimeoutSeconds: 60\nfallbackAfterSeconds: 1\nleaseWaitSeconds: 5\nlockTimeoutSeconds: 5\n${extra}`);
  return file;
}

test("the recovery of an expired control plane killed after each of its own durable steps, then run again: it finishes on the renewed certificates, exit 0", async (t) => {
  // The API server's old pod stays down until the run's restart replaces it (apiserverBackedOff):
  // the kubelet never replaces it by itself, so every run takes the kubelet fallback, and its kill
  // points are in the table.
  const host = () => expiredHost(t, { behaviour: apiserverBackedOff });
  const probe = await host();
  const { steps: all, run: whole } = await stepsOf(probe, await configFor(probe.root));
  await probe.kubelet.stop();
  assert.equal(whole.status, 0, whole.stderr);
  // From the renewal's end (its own steps are killed in crash.test.ts) to the first proof.
  const from = all.findIndex((s) => s.what === "renamed state:renewed");
  const steps = all.slice(from, indexOf(all, "renamed state:proven") + 1);
  assert.ok(steps.some((s) => s.what === "renamed kubelet-restarted"), steps.map((s) => s.what).join("\n"));
  assert.ok(steps.some((s) => s.what.startsWith("renamed fallback:restart-kubelet:kube-apiserver")));
  assert.ok(steps.some((s) => s.what.includes("var/lib/kubelet/pki/kubelet-client-current.pem")));
  await crashTable(t, {
    steps, host, config: (root) => configFor(root), width: 3, columns: ["next run"],
    after: async (h, c) => {
      const next = await runCli(h, c);
      await h.kubelet.settled();
      return { cells: [`exit ${next.status}: ${firstWords(next.stderr + next.stdout)}`], problems: await successProblems(h, next) };
    },
  });
});

test("a run killed right after it recorded a component still down (exit 15 to come), then run again once the kubelet acts: it resumes and finishes", async (t) => {
  const h = await expiredHost(t, { frozen: true, behaviour: (c) => (c === "kube-apiserver" ? "down" : "healthy") });
  // 6 s: the wait outlasts both fallbacks (after 1 s and 2 s) even on a machine three times slower.
  const config = await configFor(h.root, "manifests: [kube-apiserver]\n");
  await writeFile(config, (await readFile(config, "utf8")).replace("healthTimeoutSeconds: 60", "healthTimeoutSeconds: 6"));
  // A first, whole run: exit 15. Its last state write is the "still down" record.
  const first = await stepsOf(h, config);
  assert.equal(first.run.status, 15, first.run.stderr);
  assert.equal(first.steps[first.steps.length - 1]?.what, "renamed state:restarting", "the still-down record is the last step");
  // Again, killed right after that write this time (named as the resumed run counts it).
  const again = await stepsOf(h, config);
  assert.equal(again.run.status, 15, again.run.stderr);
  const last = again.steps[again.steps.length - 1]!;
  assert.equal(last.what, "renamed state:restarting");
  const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: `${last.what}#${last.occurrence}` });
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
