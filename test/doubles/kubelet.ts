// Test double of the kubelet's static pod behaviour: it watches etc/kubernetes/manifests under a
// root (fs.watch, with a poll as a fallback), ignores dot-files as the kubelet does, and when a
// manifest's content changes it stops that component's process and starts it again. It counts
// restarts per component and records their order. Components without a process (kube-proxy,
// etcd) are watched and counted all the same.
import { watch, type FSWatcher } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { LAYOUT } from "../../src/inventory/catalog.js";
import { componentOf } from "../../src/manifests/manifest.js";
import { startApiserverDouble } from "./apiserver.js";
import { startHealthzDouble } from "./healthz.js";
import type { Behaviour, RunningComponent } from "./process.js";

/** Starts the process standing for a component, from its manifest. */
export type Runner = (root: string, manifest: string, behaviour: Behaviour) => RunningComponent;

/** What happens at a component's start: "down" never comes back (no process at all). */
export type StartBehaviour = Behaviour | "down";

/** Decides, per component and start (0: the first, 1: after the first restart…), how it comes up. */
export type BehaviourFn = (component: string, start: number) => StartBehaviour;

/** The default processes: the API server test double, and the /healthz one for the controller manager and scheduler. */
export const DEFAULT_RUNNERS: Readonly<Record<string, Runner>> = {
  "kube-apiserver": startApiserverDouble,
  "kube-controller-manager": startHealthzDouble,
  "kube-scheduler": startHealthzDouble,
};

/** Options of the kubelet test double. */
export interface KubeletDoubleOptions {
  root: string;
  runners?: Record<string, Runner>;
  behaviour?: BehaviourFn;
  /** Poll interval of the fallback, in milliseconds. Default 200. */
  pollMs?: number;
}

/** A running kubelet test double. */
export interface KubeletDouble {
  /** Restarts per component (a changed manifest), not counting the first start. */
  restarts(component: string): number;
  /** Components in the order they were restarted. */
  readonly order: string[];
  /** The process of a component, if one runs now. */
  running(component: string): RunningComponent | undefined;
  /** Changes how components come up from now on. */
  setBehaviour(fn: BehaviourFn): void;
  /** Resolves when every change seen so far has been acted on. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

const isManifest = (name: string): boolean => !name.startsWith(".") && /\.(ya?ml|json)$/.test(name);

/** Starts the kubelet test double: every manifest's process is started and ready when this resolves. */
export async function startKubeletDouble(o: KubeletDoubleOptions): Promise<KubeletDouble> {
  const dir = join(o.root, LAYOUT.manifestsDir);
  const runners = o.runners ?? DEFAULT_RUNNERS;
  let behaviour: BehaviourFn = o.behaviour ?? (() => "healthy");
  const hashes = new Map<string, string>();
  const starts = new Map<string, number>();
  const procs = new Map<string, RunningComponent>();
  const restartCount = new Map<string, number>();
  const order: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const start = (component: string, file: string): RunningComponent | undefined => {
    const n = starts.get(component) ?? 0;
    starts.set(component, n + 1);
    const runner = runners[component];
    const how = behaviour(component, n);
    if (!runner || how === "down") return undefined;
    const p = runner(o.root, file, how);
    procs.set(component, p);
    return p;
  };

  const sync = async (): Promise<void> => {
    if (stopped) return;
    const names = (await readdir(dir)).filter(isManifest);
    for (const name of names) {
      const file = join(dir, name);
      const text = await readFile(file).catch(() => undefined);
      if (text === undefined) continue;
      const hash = createHash("sha256").update(text).digest("hex");
      const component = componentOf(name);
      const old = hashes.get(name);
      if (old === hash) continue;
      hashes.set(name, hash);
      if (old !== undefined) {
        restartCount.set(component, (restartCount.get(component) ?? 0) + 1);
        order.push(component);
        await procs.get(component)?.stop();
        procs.delete(component);
        start(component, file);
      }
    }
    for (const name of [...hashes.keys()]) {
      if (names.includes(name)) continue;
      hashes.delete(name);
      await procs.get(componentOf(name))?.stop();
      procs.delete(componentOf(name));
    }
  };
  const schedule = (): Promise<void> => (chain = chain.then(sync).catch(() => undefined));

  // The first start: every manifest there now, ready before the tests begin.
  for (const name of (await readdir(dir)).filter(isManifest).sort()) {
    const file = join(dir, name);
    hashes.set(name, createHash("sha256").update(await readFile(file)).digest("hex"));
    start(componentOf(name), file);
  }
  try {
    await Promise.all([...procs.values()].map((p) => p.ready));
  } catch (e) {
    await Promise.all([...procs.values()].map((p) => p.stop()));
    throw e;
  }
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => void schedule());
  } catch {
    watcher = undefined; // the poll below is enough
  }
  const poll = setInterval(() => void schedule(), o.pollMs ?? 200);

  return {
    restarts: (c) => restartCount.get(c) ?? 0,
    order,
    running: (c) => procs.get(c),
    setBehaviour: (fn) => { behaviour = fn; },
    settled: () => schedule(),
    stop: async () => {
      stopped = true;
      clearInterval(poll);
      watcher?.close();
      await chain;
      await Promise.all([...procs.values()].map((p) => p.stop()));
      procs.clear();
    },
  };
}

/** Starts a kubelet test double for a test and stops it (and its processes) after the test. */
export async function kubeletDoubleFor(t: TestContext, o: KubeletDoubleOptions): Promise<KubeletDouble> {
  const k = await startKubeletDouble(o);
  t.after(() => k.stop());
  return k;
}
