// Crash tests of `run` itself: the built CLI is killed with SIGKILL right after each durable step
// (every state transition, record write, manifest edit, the start of every wait, the rollback's
// steps, and the temporary file, rename and directory fsync of the writes of the first two
// certificate files and the last: each write of every file is killed one by one, with the same
// code, in renewal/renew.test.ts), then run again, as the timer would the next day.
// Each row of the printed table: kill point, the state the killed run left, what the next run did,
// and the verdict: one consistent PKI, every component running the files on disk, an exit code
// and a log that tell the truth.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { controlPlaneFiles, crashTable, firstWords, indexOf, rolledBackProblems, runCli, sampleFileWrites, stepsOf, successProblems } from "../../test/support/crash-table.js";
import type { BehaviourFn } from "../simulator/kubelet.js";

const KEY = "konvoy.d2iq.io/restartedAt";
/** Real durations times 0.005: a restart of kube-apiserver takes a quarter of a second. */
const sim = { timeScale: 0.005 };
/**
 * healthTimeoutSeconds of the rollback tables: every row waits that long once for the component
 * that never comes back, and every other component must be proven well within it: a restart takes
 * under a second here, and under three on a machine three times slower.
 */
const ROLLBACK_TIMEOUT = 12;
/** The controller manager never comes back on the renewed files (its restart annotation): every run rolls back. */
const neverBack: BehaviourFn = (c, _start, m) => (c === "kube-controller-manager" && m.annotations[KEY] ? "down" : "healthy");

async function configFor(root: string, healthTimeoutSeconds = 60, restartMode: "all" | "minimal" = "all"): Promise<string> {
  const file = join(root, "renew-certs.yaml");
  await writeFile(file, `nodeName: cp-1\nhealthTimeoutSeconds: ${healthTimeoutSeconds}\nleaseWaitSeconds: 5\nlockTimeoutSeconds: 5\nrestartMode: ${restartMode}\n`);
  return file;
}

/** The steps of a whole run on a probe host made by `host`, which is stopped then. */
async function probeSteps(host: () => ReturnType<typeof simulatedHost>, config: (root: string) => Promise<string>) {
  const probe = await host();
  const { steps } = await stepsOf(probe, await config(probe.root));
  await probe.kubelet.stop();
  return steps;
}

test("run killed after every durable step, then run again: each time one consistent PKI, every component on the files on disk, exit 0 and a true log", async (t) => {
  const host = () => simulatedHost(t, { ageDays: 300, sim });
  const config = (root: string) => configFor(root);
  const all = await probeSteps(host, config);
  assert.ok(all.length > 40, `a whole run has many steps (${all.length})`);
  // The renewal's writes of the eleven certificates and kubeconfigs sampled (see sampleFileWrites); the rest, every step.
  const first = indexOf(all, "renamed state:restarting");
  const steps = [...sampleFileWrites(all.slice(0, first)), ...all.slice(first)];
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:proven")) && steps.some((s) => s.what.startsWith("renamed wait:kube-scheduler")));
  await crashTable(t, {
    steps, host, config, columns: ["next run"],
    after: async (h, c) => {
      const next = await runCli(h, c);
      await h.kubelet.settled();
      return { cells: [`exit ${next.status}: ${firstWords(next.stderr + next.stdout)}`], problems: await successProblems(h, next) };
    },
  });
});

test("run killed during its rollback, and twice in a row, then run again: the rollback is finished and reported (exit 7), never a success, with every file as before", async (t) => {
  const host = () => simulatedHost(t, { ageDays: 300, behaviour: neverBack, sim });
  const config = (root: string) => configFor(root, ROLLBACK_TIMEOUT);
  const all = await probeSteps(host, config);
  // From the first restart on: the renewal's own steps are covered above. Of the rollback's file
  // restores (the same atomic writes as the renewal's, each killed in the table above) the first
  // two files and the last are killed at every step; every state transition, manifest edit and
  // wait is killed.
  // The restarts before the failure are the first table's kill points: here the first of them and
  // the wait on the component that fails; from the rollback's record on, every step.
  const from = indexOf(all, "renamed state:restarting");
  const failing = indexOf(all, "renamed state:rolling-back");
  const steps = [all[from]!, all[failing - 1]!, ...sampleFileWrites(all.slice(failing))];
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:rolling-back")) && steps.some((s) => s.what.startsWith("renamed state:restored")));
  await crashTable(t, {
    steps, host, config, columns: ["second run", "next run"],
    before: (h) => controlPlaneFiles(h.root),
    after: async (h, c, before) => {
      // Twice in a row: the run that resumes is killed too, at its third step, then the timer's next run.
      const again = await runCli(h, c, { RENEW_CERTS_TEST_KILL_AFTER_STEP: "3" });
      const next = again.signal === "SIGKILL" ? await runCli(h, c) : again;
      await h.kubelet.settled();
      return { cells: [again.signal === "SIGKILL" ? "killed again" : "-", `exit ${next.status}: ${firstWords(next.stderr)}`], problems: await rolledBackProblems(h, next, before) };
    },
  });
});

test("run in restart mode minimal killed after every step from the renewal on (the reload's record and wait included), then run again: kube-apiserver never restarted, every component on the files on disk, exit 0", async (t) => {
  const host = () => simulatedHost(t, { ageDays: 300, sim });
  const config = (root: string) => configFor(root, 60, "minimal");
  const all = await probeSteps(host, config);
  // The renewal's own steps, and the restarts of the controller manager and the scheduler, are the
  // same in both modes and killed in the first table: from the run's record to kube-apiserver's
  // reload proven, then the first restart's record and the verdict.
  const first = indexOf(all, "renamed state:");
  const from = all.slice(0, first).findLastIndex((s) => s.what.startsWith("temp-written var/lib/renew-certs/job.json"));
  const reloaded = indexOf(all, "renamed state:proven");
  const steps = [...all.slice(from, reloaded + 2), ...all.filter((s) => s.what.startsWith("renamed state:verified"))];
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:reloading")) && steps.some((s) => s.what.startsWith("renamed wait:kube-apiserver")), steps.map((s) => s.what).join(", "));
  await crashTable(t, {
    steps, host, config, columns: ["next run"],
    after: async (h, c) => {
      const next = await runCli(h, c);
      await h.kubelet.settled();
      return { cells: [`exit ${next.status}: ${firstWords(next.stderr + next.stdout)}`], problems: await successProblems(h, next, { apiserverRestarts: 0, reloading: ["kube-apiserver"] }) };
    },
  });
});

test("run in restart mode minimal killed during its rollback (kube-apiserver proven back on the previous files without a restart), then run again: the rollback is finished and reported (exit 7), every file as before", async (t) => {
  const host = () => simulatedHost(t, { ageDays: 300, behaviour: neverBack, sim });
  const config = (root: string) => configFor(root, ROLLBACK_TIMEOUT, "minimal");
  const all = await probeSteps(host, config);
  // From the restored files to kube-apiserver proven on them without a restart, and the verdict:
  // the file restores and the controller manager's restart are killed in the table above.
  const restored = indexOf(all, "renamed state:restored");
  const reloaded = indexOf(all, "renamed state:restarting-previous", restored + 1);
  const steps = [...all.slice(restored, reloaded + 1), ...all.filter((s) => s.what.startsWith("renamed state:rolled-back"))];
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:restarting-previous")) && steps.some((s) => s.what.startsWith("renamed wait:kube-apiserver")), steps.map((s) => s.what).join(", "));
  await crashTable(t, {
    steps, host, config, columns: ["next run"],
    before: (h) => controlPlaneFiles(h.root),
    after: async (h, c, before) => {
      const next = await runCli(h, c);
      await h.kubelet.settled();
      return { cells: [`exit ${next.status}: ${firstWords(next.stderr)}`], problems: await rolledBackProblems(h, next, before, { apiserverRestarts: 0 }) };
    },
  });
});

test("run in restart mode minimal killed while a kube-apiserver that does not reload is restarted instead, then run again: it is restarted once, proven new, and every component runs the files on disk", async (t) => {
  // It never reloads: every run waits healthTimeoutSeconds for the reload, then restarts it.
  const host = () => simulatedHost(t, { ageDays: 300, sim: { ...sim, apiserverReloads: false } });
  const config = (root: string) => configFor(root, ROLLBACK_TIMEOUT, "minimal");
  const all = await probeSteps(host, config);
  // From the reload's record to kube-apiserver proven: the wait, the fallback's record and its edit.
  const from = indexOf(all, "renamed state:reloading");
  const steps = all.slice(from, indexOf(all, "renamed state:proven", from) + 1);
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:restarting")) && steps.some((s) => s.what.startsWith("renamed edited:kube-apiserver")), steps.map((s) => s.what).join(", "));
  await crashTable(t, {
    steps, host, config, columns: ["next run"],
    after: async (h, c) => {
      const next = await runCli(h, c);
      await h.kubelet.settled();
      return { cells: [`exit ${next.status}: ${firstWords(next.stderr + next.stdout)}`], problems: await successProblems(h, next, { apiserverRestarts: 1 }) };
    },
  });
});
