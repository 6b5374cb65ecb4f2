// The worker job killed with SIGKILL right after each of its durable steps, on a fresh worker node
// per row (all of one control plane, whose CA was renewed and published after they were made with
// the old certificate), then run again: the node must end on the new CA certificate with its kubelet
// back, or, when the kubelet does not come back, rolled back to the old one with its kubelet back.
import { test, type TestContext } from "node:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { simulatedHost, type SimulatedHost } from "../../test/support/simulated.js";
import { cliAsync } from "../../test/support/cli.js";
import { crashTable, firstWords, indexOf, phaseOf, runCli, stepsOf, type CliRun } from "../../test/support/crash-table.js";
import { snapshot } from "../../test/support/sandbox.js";
import { publishClusterInfo, until, workerConfig, workerNode, type WorkerNode } from "../../test/support/worker-node.js";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";

/** A control plane whose CA was renewed and published; the old CA certificate, for the workers to hold. */
async function renewedCluster(t: TestContext): Promise<{ cp: SimulatedHost; oldCa: string }> {
  const cp = await simulatedHost(t);
  const oldCa = await readFile(join(cp.root, "etc/kubernetes/pki/ca.crt"), "utf8");
  const r = await cliAsync(["ca", "renew", "ca", "--root", cp.root]);
  if (r.status !== 0) throw new Error(`ca renew: ${r.stderr}`);
  await publishClusterInfo(cp);
  return { cp, oldCa };
}

/** What the node's two trust locations hold: "new", "old" or "mixed". */
async function holding(w: WorkerNode, oldCa: string): Promise<string> {
  const ca = await readFile(join(w.root, "etc/kubernetes/pki/ca.crt"), "utf8");
  const file = join(w.root, "etc/kubernetes/kubelet.conf");
  const conf = (await parseKubeconfig(await readFile(file, "utf8"), file, w.root)).caPem;
  if (ca === oldCa && conf === oldCa) return "old";
  if (ca !== oldCa && conf === ca) return "new";
  return "mixed";
}

/** What is wrong with a worker after the run that followed the kill. */
async function problems(w: WorkerNode, next: CliRun, oldCa: string, want: { status: number; holds: string }, renewalsBefore: number): Promise<string[]> {
  const held = await holding(w, oldCa);
  const temps = [...(await snapshot(w.root)).keys()].filter((p) => /\.renew-certs-[0-9a-f]{8}\.tmp$/.test(p));
  // The kubelet runs on what is on disk: its Lease is renewed again after the runs.
  const back = await until("the kubelet renews its Lease", () => w.kubelet.active() && w.kubelet.renewals() > renewalsBefore && w.kubelet.lastError() === undefined, 30_000).then(() => true, () => false);
  return [
    ...(next.status === want.status ? [] : [`exit ${next.status}, not ${want.status}: ${next.stderr.trim().split("\n").pop() ?? ""}`]),
    ...(held === want.holds ? [] : [`the node holds the ${held} CA certificate, not the ${want.holds}`]),
    ...((await phaseOf(w.root)) === "none" ? [] : ["a job record is left"]),
    ...temps.map((p) => `temporary file left: ${p}`),
    ...(back ? [] : ["the kubelet is not back"]),
  ];
}

let rows = 0;
const workerFor = (t: TestContext, cluster: { cp: SimulatedHost; oldCa: string }, failStarts = 0) => async (): Promise<WorkerNode> => {
  const w = await workerNode(t, cluster.cp, { nodeName: `w-${++rows}`, caPem: cluster.oldCa });
  if (failStarts) w.kubelet.setFailStarts(failStarts);
  return w;
};

test("a worker run killed after any durable step: the next run finishes it, on the new CA certificate with the kubelet back", async (t) => {
  const cluster = await renewedCluster(t);
  const probe = await workerFor(t, cluster)();
  const { steps, run } = await stepsOf(probe, await workerConfig(probe.root));
  if (run.status !== 0) throw new Error(`the probe run failed: ${run.stderr}`);
  t.diagnostic(`${steps.length} durable steps`);
  await crashTable<number, WorkerNode>(t, {
    steps, host: workerFor(t, cluster), config: (root) => workerConfig(root), columns: ["next run"],
    before: (w) => Promise.resolve(w.kubelet.renewals()),
    after: async (w, config, before) => {
      const next = await runCli(w, config);
      return { cells: [`${next.status ?? "?"} ${firstWords(next.stdout + next.stderr) || next.stdout.trim().slice(0, 80)}`], problems: await problems(w, next, cluster.oldCa, { status: 0, holds: "new" }, before) };
    },
  });
});

test("a worker run whose kubelet does not come back, killed after any durable step: the next run finishes the rollback, on the old CA certificate with the kubelet back (exit 7)", async (t) => {
  const cluster = await renewedCluster(t);
  const probe = await workerFor(t, cluster, 1)();
  const { steps, run } = await stepsOf(probe, await workerConfig(probe.root, 3));
  if (run.status !== 7) throw new Error(`the probe run did not roll back: exit ${run.status}: ${run.stderr}`);
  // The kills before the restart are the first table's (the same writes and records): from the restart on.
  const from = indexOf(steps, "renamed state:restarting");
  t.diagnostic(`${steps.length} durable steps, ${steps.length - from} from the kubelet's restart on`);
  await crashTable<number, WorkerNode>(t, {
    steps: steps.slice(from), host: workerFor(t, cluster, 1), config: (root) => workerConfig(root, 3), columns: ["next run"],
    before: (w) => Promise.resolve(w.kubelet.renewals()),
    after: async (w, config, before) => {
      // A kill before the kubelet's failed start leaves that start for the next run: it fails there, and that run rolls back.
      const next = await runCli(w, config);
      return { cells: [`${next.status ?? "?"} ${firstWords(next.stdout + next.stderr)}`], problems: await problems(w, next, cluster.oldCa, { status: 7, holds: "old" }, before) };
    },
  });
});
