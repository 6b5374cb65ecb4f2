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
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliAsync } from "../../test/support/cli.js";
import { simulatedHost } from "../../test/support/simulated.js";
import { pkiProblems, staleComponents } from "../../test/support/consistent.js";
import { snapshot } from "../../test/support/sandbox.js";
import type { BehaviourFn } from "../simulator/kubelet.js";
import { readRecord } from "../renewal/intent.js";

const KEY = "konvoy.d2iq.io/restartedAt";
/** Real durations times 0.005: a restart of kube-apiserver takes a quarter of a second. */
const sim = { timeScale: 0.005 };
type Host = Awaited<ReturnType<typeof simulatedHost>>;

async function configFor(root: string, healthTimeoutSeconds = 20, restartMode: "all" | "minimal" = "all"): Promise<string> {
  const file = join(root, "renew-certs.yaml");
  await writeFile(file, `nodeName: cp-1\nhealthTimeoutSeconds: ${healthTimeoutSeconds}\nleaseWaitSeconds: 5\nlockTimeoutSeconds: 5\nrestartMode: ${restartMode}\n`);
  return file;
}

async function runCli(h: Host, config: string, env: Record<string, string> = {}) {
  return cliAsync(["run", "--root", h.root, "--config", config], { env: { RENEW_CERTS_TEST_PROBE_INTERVAL_MS: "50", ...env } });
}

/** The steps of a whole run, as the fault hook counts them. */
async function stepsOf(h: Host, config: string): Promise<{ n: number; what: string }[]> {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-steps-"));
  const log = join(dir, "steps");
  await writeFile(log, "");
  const r = await runCli(h, config, { RENEW_CERTS_TEST_STEP_LOG: log });
  const lines = (await readFile(log, "utf8")).trim().split("\n");
  await rm(dir, { recursive: true, force: true });
  return Object.assign(lines.map((l) => { const [n, step, file] = l.split(" "); return { n: Number(n), what: `${step} ${(file ?? "").replace(h.root + "/", "")}` }; }), { status: r.status });
}

const phaseOf = async (root: string): Promise<string> => (await readRecord(join(root, "var/lib/renew-certs")))?.phase ?? "none";
const firstWords = (s: string): string => s.split("\n").find((l) => /the last run stopped|renewed and healthy|Rolled back|error:/.test(l))?.replace(/ (backup|file)=\S+/g, "").slice(0, 110) ?? "";

/** Runs `work` over `items`, `width` at a time; a row that throws says so instead of ending the test with processes left running. */
async function pool<T>(items: T[], width: number, work: (x: T) => Promise<string[]>, failed: (x: T, e: unknown) => string[]): Promise<string[][]> {
  const out: string[][] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await work(items[i]!).catch((e: unknown) => failed(items[i]!, e));
  }));
  return out;
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join("  ")).join("\n");
}

/**
 * The steps with the writes of the control plane's files (a renewal's or a restore's: the same
 * atomic writes, each killed one by one in renewal/renew.test.ts) sampled: every step of the first
 * two files and of the last; every other step (records, state transitions, manifest edits, waits) kept.
 */
function sampleFileWrites<T extends { what: string }>(steps: T[]): T[] {
  const files = [...new Set(steps.filter((s) => /^(temp-written|renamed) etc\/kubernetes\/(?!manifests)/.test(s.what)).map((s) => s.what.split(" ")[1]!))];
  const sampled = new Set([...files.slice(0, 2), ...files.slice(-1)]);
  return steps.filter((s, i) => {
    const file = s.what.split(" ")[1]!;
    if (!files.includes(file) && !s.what.startsWith("dir-synced")) return true;
    if (s.what.startsWith("dir-synced")) {
      const previous = steps[i - 1]?.what.split(" ")[1] ?? "";
      return !files.includes(previous) || sampled.has(previous);
    }
    return sampled.has(file);
  });
}

test("run killed after every durable step, then run again: each time one consistent PKI, every component on the files on disk, exit 0 and a true log", async (t) => {
  const probe = await simulatedHost(t, { ageDays: 300, sim });
  const all = await stepsOf(probe, await configFor(probe.root));
  await probe.kubelet.stop();
  assert.ok(all.length > 40, `a whole run has many steps (${all.length})`);
  // The renewal's writes of the eleven certificates and kubeconfigs sampled (see sampleFileWrites); the rest, every step.
  const first = all.findIndex((s) => s.what.startsWith("renamed state:restarting"));
  const steps = [...sampleFileWrites(all.slice(0, first)), ...all.slice(first)];
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:proven")) && steps.some((s) => s.what.startsWith("renamed wait:kube-scheduler")));
  const rows = await pool(steps, 4, async (s) => {
    const h = await simulatedHost(t, { ageDays: 300, sim });
    try {
    const config = await configFor(h.root);
    const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(s.n) });
    if (killed.signal !== "SIGKILL") throw new Error(`not killed at step ${s.n} (${s.what}): exit ${killed.status}: ${killed.stderr.trim().split("\n").pop()}`);
    const state = await phaseOf(h.root);
    const next = await runCli(h, config);
    await h.kubelet.settled();
    const problems = [
      ...(next.status === 0 ? [] : [`exit ${next.status}: ${next.stderr.trim().split("\n").pop()}`]),
      ...(/all healthy/.test(next.stdout) ? [] : ["no success summary"]),
      ...(await pkiProblems(h.root)),
      ...(await staleComponents(h.root, h.kubelet)),
      ...((await phaseOf(h.root)) === "none" ? [] : ["a job record is left"]),
      ...([...(await snapshot(h.root)).keys()].filter((p) => /\.renew-certs-[0-9a-f]{8}\.tmp$/.test(p)).map((p) => `temporary file left: ${p}`)),
    ];
    return [String(s.n), s.what, state, `exit ${next.status}: ${firstWords(next.stderr + next.stdout)}`, problems.length === 0 ? "ok" : problems.join("; ")];
    } finally {
      await h.kubelet.stop(); // each host's processes go as soon as its row is known
    }
  }, (s, e) => [String(s.n), s.what, "?", "?", `the test itself failed: ${String(e)}`]);
  for (const line of table([["kill", "after", "state found", "next run", "verdict"], ...rows]).split("\n")) t.diagnostic(line);
  assert.deepEqual(rows.filter((r) => r[4] !== "ok").map((r) => r.join(" | ")), []);
});

test("run killed during its rollback, and twice in a row, then run again: the rollback is finished and reported (exit 7), never a success, with every file as before", async (t) => {
  // The controller manager never comes back on the renewed files: every run rolls back.
  const behaviour: BehaviourFn = (c, _start, m) => (c === "kube-controller-manager" && m.annotations[KEY] ? "down" : "healthy");
  const probe = await simulatedHost(t, { ageDays: 300, behaviour, sim });
  const all = await stepsOf(probe, await configFor(probe.root, 6));
  await probe.kubelet.stop();
  // From the first restart on: the renewal's own steps are covered above. Of the rollback's file
  // restores (the same atomic writes as the renewal's, each killed in the table above) the first
  // two files and the last are killed at every step; every state transition, manifest edit and
  // wait is killed.
  // The restarts before the failure are the first table's kill points: here the first of them and
  // the wait on the component that fails; from the rollback's record on, every step.
  const from = all.findIndex((s) => s.what.startsWith("renamed state:restarting"));
  const failing = all.findIndex((s) => s.what.startsWith("renamed state:rolling-back"));
  const steps = [all[from]!, all[failing - 1]!, ...sampleFileWrites(all.slice(failing))];
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:rolling-back")) && steps.some((s) => s.what.startsWith("renamed state:restored")));
  const rows = await pool(steps, 4, async (s) => {
    const h = await simulatedHost(t, { ageDays: 300, behaviour, sim });
    try {
    const config = await configFor(h.root, 6);
    const before = [...(await snapshot(h.root))].filter(([p]) => p.startsWith("etc/")).map(([p, f]) => `${p}:${f.bytes}`).join("\n");
    const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(s.n) });
    if (killed.signal !== "SIGKILL") throw new Error(`not killed at step ${s.n} (${s.what}): exit ${killed.status}: ${killed.stderr.trim().split("\n").pop()}`);
    const state = await phaseOf(h.root);
    // Twice in a row: the run that resumes is killed too, at its third step, then the timer's next run.
    const again = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: "3" });
    const next = again.signal === "SIGKILL" ? await runCli(h, config) : again;
    await h.kubelet.settled();
    const after = [...(await snapshot(h.root))].filter(([p]) => p.startsWith("etc/")).map(([p, f]) => `${p}:${f.bytes}`).join("\n");
    const problems = [
      ...(next.status === 7 ? [] : [`exit ${next.status}, not 7: ${next.stderr.trim().split("\n").pop()}`]),
      ...(/all healthy|renewed and healthy/.test(next.stdout + next.stderr) ? ["claims success"] : []),
      ...(after === before ? [] : ["the control plane's files differ from before the run"]),
      ...(await pkiProblems(h.root)),
      ...((await phaseOf(h.root)) === "none" ? [] : ["a job record is left"]),
    ];
    return [String(s.n), s.what, state, again.signal === "SIGKILL" ? "killed again" : "-", `exit ${next.status}: ${firstWords(next.stderr)}`, problems.length === 0 ? "ok" : problems.join("; ")];
    } finally {
      await h.kubelet.stop();
    }
  }, (s, e) => [String(s.n), s.what, "?", "?", "?", `the test itself failed: ${String(e)}`]);
  for (const line of table([["kill", "after", "state found", "second run", "next run", "verdict"], ...rows]).split("\n")) t.diagnostic(line);
  assert.deepEqual(rows.filter((r) => r[5] !== "ok").map((r) => r.join(" | ")), []);
});

test("run in restart mode minimal killed after every step from the renewal on (the reload's record and wait included), then run again: kube-apiserver never restarted, every component on the files on disk, exit 0", async (t) => {
  const probe = await simulatedHost(t, { ageDays: 300, sim });
  const all = await stepsOf(probe, await configFor(probe.root, 20, "minimal"));
  await probe.kubelet.stop();
  // The renewal's own steps, and the restarts of the controller manager and the scheduler, are the
  // same in both modes and killed in the first table: from the run's record to kube-apiserver's
  // reload proven, then the first restart's record and the verdict.
  const first = all.findIndex((s) => s.what.startsWith("renamed state:"));
  const from = all.slice(0, first).findLastIndex((s) => s.what.startsWith("temp-written var/lib/renew-certs/job.json"));
  const reloaded = all.findIndex((s) => s.what.startsWith("renamed state:proven"));
  const steps = [...all.slice(from, reloaded + 2), ...all.filter((s) => s.what.startsWith("renamed state:verified"))];
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:reloading")) && steps.some((s) => s.what.startsWith("renamed wait:kube-apiserver")), steps.map((s) => s.what).join(", "));
  const rows = await pool(steps, 4, async (s) => {
    const h = await simulatedHost(t, { ageDays: 300, sim });
    try {
      const config = await configFor(h.root, 20, "minimal");
      const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(s.n) });
      if (killed.signal !== "SIGKILL") throw new Error(`not killed at step ${s.n} (${s.what}): exit ${killed.status}: ${killed.stderr.trim().split("\n").pop()}`);
      const state = await phaseOf(h.root);
      const next = await runCli(h, config);
      await h.kubelet.settled();
      const problems = [
        ...(next.status === 0 ? [] : [`exit ${next.status}: ${next.stderr.trim().split("\n").pop()}`]),
        ...(/all healthy/.test(next.stdout) ? [] : ["no success summary"]),
        ...(h.kubelet.restarts("kube-apiserver") === 0 ? [] : ["kube-apiserver was restarted"]),
        ...(await pkiProblems(h.root)),
        ...(await staleComponents(h.root, h.kubelet, ["kube-apiserver"])),
        ...((await phaseOf(h.root)) === "none" ? [] : ["a job record is left"]),
      ];
      return [String(s.n), s.what, state, `exit ${next.status}: ${firstWords(next.stderr + next.stdout)}`, problems.length === 0 ? "ok" : problems.join("; ")];
    } finally {
      await h.kubelet.stop();
    }
  }, (s, e) => [String(s.n), s.what, "?", "?", `the test itself failed: ${String(e)}`]);
  for (const line of table([["kill", "after", "state found", "next run", "verdict"], ...rows]).split("\n")) t.diagnostic(line);
  assert.deepEqual(rows.filter((r) => r[4] !== "ok").map((r) => r.join(" | ")), []);
});

test("run in restart mode minimal killed during its rollback (kube-apiserver proven back on the previous files without a restart), then run again: the rollback is finished and reported (exit 7), every file as before", async (t) => {
  const behaviour: BehaviourFn = (c, _start, m) => (c === "kube-controller-manager" && m.annotations[KEY] ? "down" : "healthy");
  const probe = await simulatedHost(t, { ageDays: 300, behaviour, sim });
  const all = await stepsOf(probe, await configFor(probe.root, 6, "minimal"));
  await probe.kubelet.stop();
  // From the restored files to kube-apiserver proven on them without a restart, and the verdict:
  // the file restores and the controller manager's restart are killed in the table above.
  const restored = all.findIndex((s) => s.what.startsWith("renamed state:restored"));
  const reloaded = all.findIndex((s, i) => i > restored + 1 && s.what.startsWith("renamed state:restarting-previous"));
  const steps = [...all.slice(restored, reloaded + 1), ...all.filter((s) => s.what.startsWith("renamed state:rolled-back"))];
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:restarting-previous")) && steps.some((s) => s.what.startsWith("renamed wait:kube-apiserver")), steps.map((s) => s.what).join(", "));
  const rows = await pool(steps, 4, async (s) => {
    const h = await simulatedHost(t, { ageDays: 300, behaviour, sim });
    try {
      const config = await configFor(h.root, 6, "minimal");
      const before = [...(await snapshot(h.root))].filter(([p]) => p.startsWith("etc/")).map(([p, f]) => `${p}:${f.bytes}`).join("\n");
      const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(s.n) });
      if (killed.signal !== "SIGKILL") throw new Error(`not killed at step ${s.n} (${s.what}): exit ${killed.status}: ${killed.stderr.trim().split("\n").pop()}`);
      const state = await phaseOf(h.root);
      const next = await runCli(h, config);
      await h.kubelet.settled();
      const after = [...(await snapshot(h.root))].filter(([p]) => p.startsWith("etc/")).map(([p, f]) => `${p}:${f.bytes}`).join("\n");
      const problems = [
        ...(next.status === 7 ? [] : [`exit ${next.status}, not 7: ${next.stderr.trim().split("\n").pop()}`]),
        ...(/all healthy|renewed and healthy/.test(next.stdout + next.stderr) ? ["claims success"] : []),
        ...(after === before ? [] : ["the control plane's files differ from before the run"]),
        ...(h.kubelet.restarts("kube-apiserver") === 0 ? [] : ["kube-apiserver was restarted"]),
        ...(await pkiProblems(h.root)),
        ...((await phaseOf(h.root)) === "none" ? [] : ["a job record is left"]),
      ];
      return [String(s.n), s.what, state, `exit ${next.status}: ${firstWords(next.stderr)}`, problems.length === 0 ? "ok" : problems.join("; ")];
    } finally {
      await h.kubelet.stop();
    }
  }, (s, e) => [String(s.n), s.what, "?", "?", `the test itself failed: ${String(e)}`]);
  for (const line of table([["kill", "after", "state found", "next run", "verdict"], ...rows]).split("\n")) t.diagnostic(line);
  assert.deepEqual(rows.filter((r) => r[4] !== "ok").map((r) => r.join(" | ")), []);
});

test("run in restart mode minimal killed while a kube-apiserver that does not reload is restarted instead, then run again: it is restarted once, proven new, and every component runs the files on disk", async (t) => {
  const noReload = { ...sim, apiserverReloads: false };
  const probe = await simulatedHost(t, { ageDays: 300, sim: noReload });
  const all = await stepsOf(probe, await configFor(probe.root, 6, "minimal"));
  await probe.kubelet.stop();
  // From the reload's record to kube-apiserver proven: the wait, the fallback's record and its edit.
  const from = all.findIndex((s) => s.what.startsWith("renamed state:reloading"));
  const steps = all.slice(from, all.findIndex((s, i) => i > from && s.what.startsWith("renamed state:proven")) + 1);
  assert.ok(steps.some((s) => s.what.startsWith("renamed state:restarting")) && steps.some((s) => s.what.startsWith("renamed edited:kube-apiserver")), steps.map((s) => s.what).join(", "));
  const rows = await pool(steps, 4, async (s) => {
    const h = await simulatedHost(t, { ageDays: 300, sim: noReload });
    try {
      const config = await configFor(h.root, 6, "minimal");
      const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(s.n) });
      if (killed.signal !== "SIGKILL") throw new Error(`not killed at step ${s.n} (${s.what}): exit ${killed.status}: ${killed.stderr.trim().split("\n").pop()}`);
      const state = await phaseOf(h.root);
      const next = await runCli(h, config);
      await h.kubelet.settled();
      const problems = [
        ...(next.status === 0 ? [] : [`exit ${next.status}: ${next.stderr.trim().split("\n").pop()}`]),
        ...(/all healthy/.test(next.stdout) ? [] : ["no success summary"]),
        ...(h.kubelet.restarts("kube-apiserver") === 1 ? [] : [`kube-apiserver restarted ${h.kubelet.restarts("kube-apiserver")} times`]),
        ...(await pkiProblems(h.root)),
        ...(await staleComponents(h.root, h.kubelet)),
        ...((await phaseOf(h.root)) === "none" ? [] : ["a job record is left"]),
      ];
      return [String(s.n), s.what, state, `exit ${next.status}: ${firstWords(next.stderr + next.stdout)}`, problems.length === 0 ? "ok" : problems.join("; ")];
    } finally {
      await h.kubelet.stop();
    }
  }, (s, e) => [String(s.n), s.what, "?", "?", `the test itself failed: ${String(e)}`]);
  for (const line of table([["kill", "after", "state found", "next run", "verdict"], ...rows]).split("\n")) t.diagnostic(line);
  assert.deepEqual(rows.filter((r) => r[4] !== "ok").map((r) => r.join(" | ")), []);
});
