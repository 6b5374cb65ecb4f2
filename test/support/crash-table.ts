// The crash tables of `run`: the built CLI killed with SIGKILL right after one durable step, on a
// fresh simulated host for each step, then run again, and the host judged. A table's steps come
// from a whole run on a probe host (its step log); each kill point is named by the step's name and
// how many steps of that name came before it ("renamed state:restored", the first), never by its
// index, so that a run taking one step more elsewhere is still killed at the same point.
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliAsync } from "./cli.js";
import { pkiProblems, staleComponents } from "./consistent.js";
import { snapshot } from "./sandbox.js";
import type { SimulatedHost } from "./simulated.js";
import { readRecord } from "../../src/renewal/intent.js";

/** One durable step of a run, as the fault hook (src/cli/fault.ts) names it. */
export interface Step {
  /** Its index in the probe run (for the table's order only). */
  n: number;
  /** "renamed etc/kubernetes/admin.conf", "renamed state:restored": a file under the root named relative to it. */
  what: string;
  /** 1 for the first step of this name in the run, 2 for the second… */
  occurrence: number;
  /** Whether it names a file under the root (else a state, a wait, an edit: "state:restored"). */
  underRoot: boolean;
}

/** What a run of the CLI ended with. */
export type CliRun = Awaited<ReturnType<typeof cliAsync>>;

/** `renew-certs run` on `h` with `config`, probing every 50 ms. */
export function runCli(h: CrashHost, config: string, env: Record<string, string> = {}): Promise<CliRun> {
  return cliAsync(["run", "--root", h.root, "--config", config], { env: { RENEW_CERTS_TEST_PROBE_INTERVAL_MS: "50", ...env } });
}

/** The steps of a whole run on `h`, and how it ended. */
export async function stepsOf(h: CrashHost, config: string): Promise<{ steps: Step[]; run: CliRun }> {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-steps-"));
  const log = join(dir, "steps");
  await writeFile(log, "");
  const run = await runCli(h, config, { RENEW_CERTS_TEST_STEP_LOG: log });
  const lines = (await readFile(log, "utf8")).trim().split("\n").filter((l) => l !== "");
  await rm(dir, { recursive: true, force: true });
  const seen = new Map<string, number>();
  const steps = lines.map((l) => {
    const [n, step, file = ""] = l.split(" ");
    const underRoot = file.startsWith(h.root + "/");
    const what = `${step} ${underRoot ? file.slice(h.root.length + 1) : file}`;
    seen.set(what, (seen.get(what) ?? 0) + 1);
    return { n: Number(n), what, occurrence: seen.get(what)!, underRoot };
  });
  return { steps, run };
}

/** The kill point of `s` on host `h` (RENEW_CERTS_TEST_KILL_AFTER_STEP): its name with h's root, and its occurrence. */
export function killPoint(h: CrashHost, s: Step): string {
  const [step, file] = s.what.split(" ");
  return `${step} ${s.underRoot ? join(h.root, file!) : file}#${s.occurrence}`;
}

/** The first index of a step whose name starts with `prefix` (after index `from`), or -1. */
export const indexOf = (steps: Step[], prefix: string, from = -1): number => steps.findIndex((s, i) => i > from && s.what.startsWith(prefix));

/**
 * The steps with the writes of the control plane's files (a renewal's or a restore's: the same
 * atomic writes, each killed one by one in renewal/renew.test.ts) sampled: every step of the first
 * two files and of the last; every other step (records, state transitions, manifest edits, waits) kept.
 */
export function sampleFileWrites(steps: Step[]): Step[] {
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

/** The phase of the job record under `root`, or "none". */
export const phaseOf = async (root: string): Promise<string> => (await readRecord(join(root, "var/lib/renew-certs")))?.phase ?? "none";

/** The line of a run's output that says what it did, for the table. */
export const firstWords = (s: string): string => s.split("\n").find((l) => /the last run stopped|renewed and healthy|Rolled back|error:/.test(l))?.replace(/ (backup|file)=\S+/g, "").slice(0, 110) ?? "";

const lastLine = (r: CliRun): string => r.stderr.trim().split("\n").pop() ?? "";

/** The control plane's files (etc/) with their bytes, to compare before and after. */
export async function controlPlaneFiles(root: string): Promise<string> {
  return [...(await snapshot(root))].filter(([p]) => p.startsWith("etc/")).map(([p, f]) => `${p}:${f.bytes}`).join("\n");
}

/** What is wrong after a run that must have finished the job: exit 0, all healthy, one PKI, components on the files on disk, nothing left. */
export async function successProblems(h: SimulatedHost, next: CliRun, o: { reloading?: string[]; apiserverRestarts?: number } = {}): Promise<string[]> {
  const restarts = h.kubelet.restarts("kube-apiserver");
  return [
    ...(next.status === 0 ? [] : [`exit ${next.status}: ${lastLine(next)}`]),
    ...(/all healthy/.test(next.stdout) ? [] : ["no success summary"]),
    ...(o.apiserverRestarts === undefined || restarts === o.apiserverRestarts ? [] : [`kube-apiserver restarted ${restarts} times, not ${o.apiserverRestarts}`]),
    ...(await pkiProblems(h.root)),
    ...(await staleComponents(h.root, h.kubelet, o.reloading ?? [])),
    ...((await phaseOf(h.root)) === "none" ? [] : ["a job record is left"]),
    ...[...(await snapshot(h.root)).keys()].filter((p) => /\.renew-certs-[0-9a-f]{8}\.tmp$/.test(p)).map((p) => `temporary file left: ${p}`),
  ];
}

/** What is wrong after a run that must have finished a rollback: exit 7, no success claimed, every file as `before`, one PKI, nothing left. */
export async function rolledBackProblems(h: SimulatedHost, next: CliRun, before: string, o: { apiserverRestarts?: number } = {}): Promise<string[]> {
  const restarts = h.kubelet.restarts("kube-apiserver");
  return [
    ...(next.status === 7 ? [] : [`exit ${next.status}, not 7: ${lastLine(next)}`]),
    ...(/all healthy|renewed and healthy/.test(next.stdout + next.stderr) ? ["claims success"] : []),
    ...((await controlPlaneFiles(h.root)) === before ? [] : ["the control plane's files differ from before the run"]),
    ...(o.apiserverRestarts === undefined || restarts === o.apiserverRestarts ? [] : [`kube-apiserver restarted ${restarts} times, not ${o.apiserverRestarts}`]),
    ...(await pkiProblems(h.root)),
    ...((await phaseOf(h.root)) === "none" ? [] : ["a job record is left"]),
  ];
}

/** What a crash table runs on: a root, and a kubelet double stopped when its row is done (a control plane's or a worker's). */
export interface CrashHost {
  root: string;
  kubelet: { stop(): Promise<void> };
}

/** A crash table: its steps, a fresh host and configuration per row, and what comes after the kill. */
export interface CrashTable<T, H extends CrashHost = SimulatedHost> {
  steps: Step[];
  host: () => Promise<H>;
  config: (root: string) => Promise<string>;
  /** Rows run at once (default 4): each waits mostly on the doubles' timers. */
  width?: number;
  /** Taken before the killed run, handed to `after`. */
  before?: (h: H) => Promise<T>;
  /** The headers of the columns `after` fills, between "state found" and "verdict". */
  columns: string[];
  /** The runs after the kill, their cells for the table and every problem found. */
  after: (h: H, config: string, before: T) => Promise<{ cells: string[]; problems: string[] }>;
}

/** Runs each row of `o`: a fresh host, the run killed at the step, then `after`; prints the table and fails on any row that is not "ok". */
export async function crashTable<T = undefined, H extends CrashHost = SimulatedHost>(t: TestContext, o: CrashTable<T, H>): Promise<void> {
  const rows: string[][] = new Array(o.steps.length);
  let next = 0;
  const row = async (s: Step): Promise<string[]> => {
    const h = await o.host();
    try {
      const config = await o.config(h.root);
      const before = (await o.before?.(h)) as T;
      const killed = await runCli(h, config, { RENEW_CERTS_TEST_KILL_AFTER_STEP: killPoint(h, s) });
      if (killed.signal !== "SIGKILL") throw new Error(`not killed after ${s.what} (#${s.occurrence}): exit ${killed.status}: ${lastLine(killed)}`);
      const state = await phaseOf(h.root);
      const { cells, problems } = await o.after(h, config, before);
      return [String(s.n), s.what, state, ...cells, problems.length === 0 ? "ok" : problems.join("; ")];
    } finally {
      await h.kubelet.stop(); // each host's processes go as soon as its row is known
    }
  };
  await Promise.all(Array.from({ length: o.width ?? 4 }, async () => {
    for (let i = next++; i < o.steps.length; i = next++) {
      const s = o.steps[i]!;
      // A row that throws says so instead of ending the test with processes left running.
      rows[i] = await row(s).catch((e: unknown) => [String(s.n), s.what, "?", ...o.columns.map(() => "?"), `the test itself failed: ${String(e)}`]);
    }
  }));
  const all = [["kill", "after", "state found", ...o.columns, "verdict"], ...rows];
  const w = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all) t.diagnostic(r.map((c, i) => c.padEnd(w[i]!)).join("  "));
  assert.deepEqual(rows.filter((r) => r[r.length - 1] !== "ok").map((r) => r.join(" | ")), []);
}
