// Test double of the kubelet's static pods, in the process that starts it (a test or the demo).
// It behaves like the real kubelet (v1.28) in every way renew-certs depends on (SPEC.md, last
// section). The life of one static pod:
//
//   manifest seen ──► running ──(manifest content changes: a new pod UID)──► terminating
//       ▲               │ ▲                                                     │ SIGTERM, SIGKILL at the
//       │   crashed     ▼ │ back-off (10 s doubling to 5 min)                    │ end of the grace period
//       │             backoff                                                   ▼
//       └──────────────────────────── the new pod starts only once the old process has ended
//
// - It watches etc/kubernetes/manifests (inotify, and a poll every 20 s); dot-files are not pods.
// - Until it has reached the API server once since it started (its own client certificate from
//   kubelet.conf, as the real one), it cannot delete a static pod it is replacing: it logs
//   "Failed to delete pod … skipping delete because sources aren't ready yet" and the new pod never
//   starts. A restart of the kubelet clears that: it then runs the manifests as they are now.
// - It loads its own client certificate (the file kubelet.conf names) at its start only, as the real
//   one does with a certificate replaced behind its back: a re-issued one counts after a restart.
// - A control endpoint (control.ts) lets another process restart it and list or stop containers.
// - While it runs it answers GET /healthz "ok" (plain HTTP) where the root's kubelet config
//   (var/lib/kubelet/config.yaml: healthzBindAddress, healthzPort; default 127.0.0.1:10248) says,
//   whether or not it reaches the API server. `systemctl stop kubelet` (stopService) stops the sync
//   loop, the status reports and healthz; the containers keep running, as under containerd, and the
//   control endpoint (systemd and crictl) stays: a restart starts it again.
// - It reports mirror pods to the API server (annotations of the manifest, status.containerStatuses
//   with state.running.startedAt, Ready) at its status sync, only while it can reach the API.
// - Its log goes to var/log/kubelet.log under the root, as the journal of kubelet.service would.
// Durations are real ones times SimOptions.timeScale (timing.ts).
import { watch, type FSWatcher } from "node:fs";
import { appendFile, mkdir, readdir, readFile } from "node:fs/promises";
import { createHash, randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { Agent, request } from "node:https";
import { createServer, type Server } from "node:http";
import { healthzEndpointOf } from "../kubelet/healthz.js";
import { LAYOUT } from "../inventory/catalog.js";
import { componentOf, parseManifest, type ManifestInfo } from "../manifests/manifest.js";
import { startComponent, type Behaviour, type ComponentProcess } from "./process.js";
import { componentSpec } from "./spec.js";
import { DEFAULT_SIM_OPTIONS, REAL_MS, scaled, type SimOptions } from "./timing.js";
import { serveControl } from "./control.js";

/** How a component comes up at a start: "down" exits at once (a crash loop). */
export type StartBehaviour = Behaviour | "down";

/** Decides, per component, start (0: the first, 1: the next…) and manifest, how it comes up. */
export type BehaviourFn = (component: string, start: number, manifest: ManifestInfo) => StartBehaviour;

/**
 * The components the double runs a process for; the others (kube-proxy) are pods without one.
 * etcd's process serves nothing (the API server double judges its certificates from the files):
 * it is there so that a restart of etcd (a renewed etcd-ca) is a new container, proven as the others.
 */
export const PROCESS_COMPONENTS = new Set(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]);

/** Options of the kubelet test double. */
export interface KubeletDoubleOptions {
  root: string;
  behaviour?: BehaviourFn;
  sim?: Partial<SimOptions>;
  /** Never act on manifest changes (a kubelet that restarts nothing): for tests of the proof. */
  frozen?: boolean;
}

/** A container as the container runtime lists it (crictl ps -a). */
export interface ContainerInfo {
  id: string;
  pod: string;
  component: string;
  podUid: string;
  createdAt: number;
  state: "running" | "exited";
  pid: number | undefined;
}

interface Pod {
  file: string;
  text: string;
  component: string;
  hash: string;
  uid: string;
  info: ManifestInfo;
  container: ComponentProcess | undefined;
  restartCount: number;
  /** Replaced by a newer manifest or removed: its container is no longer restarted. */
  removed: boolean;
  ready: boolean;
  backoffMs: number;
  retry: NodeJS.Timeout | undefined;
}

/** A running kubelet test double. */
export interface KubeletDouble {
  readonly nodeName: string;
  /** Pod replacements per component (a changed manifest), not counting the first start. */
  restarts(component: string): number;
  /** Components in the order they were replaced. */
  readonly order: string[];
  /** The live process of a component, if one runs now. */
  running(component: string): ComponentProcess | undefined;
  /** Changes how components come up from now on. */
  setBehaviour(fn: BehaviourFn): void;
  /** From now on, act on manifest changes or not (a kubelet that restarts nothing). */
  setFrozen(frozen: boolean): void;
  /** True once it has reached the API server since it started. */
  sourcesReady(): boolean;
  /** Resolves when every change seen so far has been acted on (replacements included). */
  settled(): Promise<void>;
  /** `systemctl restart kubelet` (or start, when stopped): containers keep running; the manifests are run as they are now. */
  restart(): Promise<void>;
  /** `systemctl stop kubelet`: no more sync, status or healthz; the containers keep running. */
  stopService(): Promise<void>;
  /** False between stopService and the next restart. */
  active(): boolean;
  /** The container runtime's view (crictl ps -a). */
  containers(): ContainerInfo[];
  /** `crictl stop ID`. */
  stopContainer(id: string): Promise<boolean>;
  /** Its log lines (also in var/log/kubelet.log). */
  readonly log: string[];
  stop(): Promise<void>;
}

const isManifest = (name: string): boolean => !name.startsWith(".") && /\.(ya?ml|json)$/.test(name);
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const klogTime = (d: Date): string => `${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")} ${d.toISOString().slice(11, 23)}000`;

/** Starts the kubelet double: every manifest's pod is started, and running, when this resolves. */
export async function startKubeletDouble(o: KubeletDoubleOptions): Promise<KubeletDouble> {
  const sim: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...o.sim };
  const dir = join(o.root, LAYOUT.manifestsDir);
  const logFile = join(o.root, "var/log/kubelet.log");
  await mkdir(dirname(logFile), { recursive: true });
  let behaviour: BehaviourFn = o.behaviour ?? (() => "healthy");
  let frozen = o.frozen ?? false;
  const kubeletConf = await readFile(join(o.root, LAYOUT.kubernetesDir, "kubelet.conf"), "utf8").catch(() => "");
  const nodeName = /system:node:([^\s@"]+)/.exec(kubeletConf)?.[1] ?? "cp-1";
  const pods = new Map<string, Pod>(); // by manifest file name
  const old: Pod[] = []; // replaced pods whose container may still run
  const starts = new Map<string, number>();
  const replaced = new Map<string, number>();
  const order: string[] = [];
  const lines: string[] = [];
  let sourcesReady = false;
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();

  const log = (sev: "I" | "E", msg: string): void => {
    const line = `${sev}${klogTime(new Date())}    ${process.pid} kubelet.go:0] ${msg}`;
    lines.push(line);
    void appendFile(logFile, line + "\n").catch(() => undefined);
  };
  const podName = (p: Pod): string => `${p.info.name}-${nodeName}`;
  // The pod's terminationGracePeriodSeconds (kubeadm's manifests set none: Kubernetes' 30 s).
  const graceOf = (p: Pod): number => {
    const g = Number(/^\s*terminationGracePeriodSeconds:\s*(\d+)\s*$/m.exec(p.text)?.[1]);
    return scaled(sim, Number.isFinite(g) && g >= 0 ? g * 1000 : REAL_MS.defaultGrace);
  };

  const startContainer = async (p: Pod): Promise<void> => {
    if (stopped || p.removed || !PROCESS_COMPONENTS.has(p.component)) return;
    const n = starts.get(p.component) ?? 0;
    starts.set(p.component, n + 1);
    const how = behaviour(p.component, n, p.info);
    const spec = await componentSpec(o.root, p.info, how !== "unhealthy", sim);
    if (stopped || p.removed) return;
    const c = startComponent(spec, sim);
    if (how === "down") c.process.kill("SIGKILL"); // the container starts and dies at once
    p.container = c;
    p.ready = false;
    void c.ready.then(() => { if (p.container === c) p.ready = how === "healthy"; }, () => undefined);
    void c.exited.then(() => {
      if (p.container !== c || stopped || p.removed) return;
      // Crashed on its own: restarted after a back-off, as restartPolicy: Always does.
      p.ready = false;
      p.restartCount++;
      log("E", `"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"${p.component}\\" with CrashLoopBackOff: \\"back-off ${Math.round(p.backoffMs / sim.timeScale / 1000)}s restarting failed container\\"" pod="kube-system/${podName(p)}"`);
      p.retry = setTimeout(() => { p.retry = undefined; void startContainer(p); }, p.backoffMs);
      p.backoffMs = Math.min(p.backoffMs * 2, scaled(sim, REAL_MS.crashBackoffMax));
    });
  };

  const newPod = (file: string, text: Buffer): Pod => {
    const info = parseManifest(text.toString(), file);
    return { file, text: text.toString(), component: componentOf(file), hash: createHash("sha256").update(text).digest("hex"), uid: randomUUID(), info, container: undefined, restartCount: 0, removed: false, ready: false, backoffMs: scaled(sim, REAL_MS.crashBackoff), retry: undefined };
  };

  /** Stops a pod's container (SIGTERM, SIGKILL after the grace period) and waits for its end. */
  const terminate = async (p: Pod): Promise<void> => {
    p.removed = true;
    if (p.retry) clearTimeout(p.retry);
    old.push(p);
    await p.container?.terminate(graceOf(p));
    old.splice(old.indexOf(p), 1);
  };

  const sync = async (): Promise<void> => {
    if (stopped || !running) return;
    const names = (await readdir(dir).catch(() => [] as string[])).filter(isManifest);
    for (const name of names) {
      const file = join(dir, name);
      const text = await readFile(file).catch(() => undefined);
      if (text === undefined) continue;
      const hash = createHash("sha256").update(text).digest("hex");
      const cur = pods.get(name);
      if (cur?.hash === hash && (cur as Pod & { blocked?: string }).blocked) {
        // The manifest is back to the bytes of the pod that still runs (a rollback of a change it
        // could not carry out): that pod is the one wanted again; nothing waits for it any more.
        delete (cur as Pod & { blocked?: string }).blocked;
        cur.removed = false;
        log("I", `"SyncLoop ADD" source="file" pods=["kube-system/${podName(cur)}"]`);
        if (!cur.container || cur.container.gone()) await startContainer(cur);
        continue;
      }
      if (cur?.hash === hash || (frozen && cur)) continue;
      let next: Pod;
      try {
        next = newPod(file, text);
      } catch (e) {
        log("E", `"Could not process manifest file" err="${(e as Error).message}" path="${file}"`);
        continue;
      }
      if (!cur) {
        pods.set(name, next);
        log("I", `"SyncLoop ADD" source="file" pods=["kube-system/${podName(next)}"]`);
        await startContainer(next);
        continue;
      }
      if (!sourcesReady) {
        if ((cur as Pod & { blocked?: string }).blocked !== hash) {
          (cur as Pod & { blocked?: string }).blocked = hash;
          log("I", `"SyncLoop REMOVE" source="file" pods=["kube-system/${podName(cur)}"]`);
          log("I", `"SyncLoop ADD" source="file" pods=["kube-system/${podName(next)}"]`);
          log("E", `"Failed to delete pod" pod="kube-system/${podName(cur)}" err="skipping delete because sources aren't ready yet"`);
          cur.removed = true; // no longer restarted; the new one waits for it to end
          if (cur.retry) clearTimeout(cur.retry);
        }
        continue;
      }
      log("I", `"SyncLoop REMOVE" source="file" pods=["kube-system/${podName(cur)}"]`);
      log("I", `"SyncLoop ADD" source="file" pods=["kube-system/${podName(next)}"]`);
      replaced.set(cur.component, (replaced.get(cur.component) ?? 0) + 1);
      order.push(cur.component);
      pods.set(name, next);
      // Since v1.22.5 a static pod waits for the old one with the same full name to end.
      await terminate(cur);
      await startContainer(next);
    }
    for (const [name, p] of [...pods]) {
      if (names.includes(name) || !sourcesReady) continue;
      pods.delete(name);
      log("I", `"SyncLoop REMOVE" source="file" pods=["kube-system/${podName(p)}"]`);
      await terminate(p);
    }
  };
  const schedule = (): Promise<void> => (chain = chain.then(sync).catch(() => undefined));

  // Reaching the API server with the kubelet's own credentials: node status, then mirror pods, on
  // a kept-alive connection as the real one (a new one when its certificate file changes).
  let agent: { pem: string; agent: Agent } | undefined;
  let clientPem: string | undefined; // loaded at every start (begin)
  const apiCall = async (method: string, path: string, body: unknown, contentType = "application/json"): Promise<number> => {
    const api = [...pods.values()].find((p) => p.component === "kube-apiserver")?.info.advertiseEndpoint ?? { host: "127.0.0.1", port: 6443 };
    const pem = clientPem;
    if (pem === undefined) throw new Error("no client certificate");
    const ca = await readFile(join(o.root, LAYOUT.pkiDir, "ca.crt"), "utf8");
    if (agent?.pem !== pem) {
      agent?.agent.destroy();
      agent = { pem, agent: new Agent({ keepAlive: true, maxSockets: 1 }) };
    }
    const data = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request({ host: api.host, port: api.port, method, path, cert: pem, key: pem, ca, checkServerIdentity: () => undefined, timeout: 2000, agent: agent!.agent, headers: { "content-type": contentType, "content-length": data.length } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(data);
    });
  };
  const mirror = (p: Pod): unknown => {
    const c = p.container;
    const running = c && !c.gone();
    return {
      apiVersion: "v1", kind: "Pod",
      metadata: {
        name: podName(p), namespace: "kube-system", uid: p.uid, labels: { component: p.component, tier: "control-plane" },
        annotations: { ...p.info.annotations, "kubernetes.io/config.hash": p.hash.slice(0, 32), "kubernetes.io/config.mirror": p.hash.slice(0, 32), "kubernetes.io/config.source": "file" },
      },
      spec: { nodeName, containers: [{ name: p.component }] },
      status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: running && p.ready ? "True" : "False" }],
        containerStatuses: [{
          name: p.component, ready: Boolean(running && p.ready), restartCount: p.restartCount,
          state: running ? { running: { startedAt: rfc3339(c.startedAt) } } : { waiting: { reason: c ? "CrashLoopBackOff" : "ContainerCreating" } },
        }],
      },
    };
  };
  const report = async (): Promise<void> => {
    if (stopped || !running) return;
    try {
      // As the real kubelet: its status as a patch of nodes/NAME/status (what others wrote on the
      // Node, annotations included, stays), and the Node registered first when there is none.
      const ready = { status: { conditions: [{ type: "Ready", status: "True" }] } };
      let code = await apiCall("PATCH", `/api/v1/nodes/${nodeName}/status`, ready, "application/strategic-merge-patch+json");
      if (code === 404) code = await apiCall("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: nodeName }, ...ready });
      if (code !== 200 && code !== 201) return;
    } catch {
      return; // the API server is down, or refuses our certificate
    }
    if (!sourcesReady) {
      sourcesReady = true;
      void schedule(); // what was blocked can proceed now
    }
    for (const p of pods.values()) await apiCall("PUT", `/api/v1/namespaces/kube-system/pods/${podName(p)}`, mirror(p)).catch(() => undefined);
  };

  let watcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;
  let status: NodeJS.Timeout | undefined;
  let healthz: Server | undefined;
  let running = false;
  const serveHealthz = async (): Promise<void> => {
    const at = await healthzEndpointOf(o.root);
    if (!at) return;
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "text/plain; charset=utf-8" });
      res.end(req.url === "/healthz" ? "ok" : "404 page not found\n");
    });
    // As the real kubelet: a healthz that cannot listen is logged, and the kubelet runs on without it.
    await new Promise<void>((resolve) => {
      server.once("error", (e) => { log("E", `"Failed to start healthz server" err="${e.message}"`); resolve(); });
      server.listen(at.port, at.host, () => { healthz = server; resolve(); });
    });
  };
  const begin = async (): Promise<void> => {
    running = true;
    sourcesReady = false;
    clientPem = await readFile(join(o.root, "var/lib/kubelet/pki/kubelet-client-current.pem"), "utf8").catch(() => undefined);
    await schedule();
    try {
      watcher = watch(dir, () => void schedule());
    } catch {
      watcher = undefined; // the poll is enough
    }
    poll = setInterval(() => void schedule(), scaled(sim, REAL_MS.kubeletPoll));
    await serveHealthz();
    // Never more often than five times a second: the mirror pod is a slow witness anyway.
    status = setInterval(() => void report(), Math.max(200, scaled(sim, REAL_MS.statusSync)));
    void report();
  };
  const end = async (): Promise<void> => {
    running = false;
    const h = healthz;
    healthz = undefined;
    if (h) {
      h.closeAllConnections();
      await new Promise<void>((r) => h.close(() => r()));
    }
    clearInterval(poll);
    clearInterval(status);
    watcher?.close();
    agent?.agent.destroy();
    agent = undefined;
    await chain;
  };

  await begin();
  await Promise.all([...pods.values()].map((p) => p.container?.ready.catch(() => undefined)));

  const containers = (): ContainerInfo[] => [...pods.values(), ...old].flatMap((p) => (p.container ? [{
    id: p.container.id, pod: podName(p), component: p.component, podUid: p.uid, createdAt: p.container.startedAt,
    state: p.container.gone() ? "exited" as const : "running" as const, pid: p.container.process.pid,
  }] : []));

  const control: { close?: () => Promise<void> } = {};
  const double: KubeletDouble = {
    nodeName,
    restarts: (c) => replaced.get(c) ?? 0,
    order,
    running: (c) => [...pods.values()].find((p) => p.component === c && p.container && !p.container.gone())?.container,
    setBehaviour: (fn) => { behaviour = fn; },
    setFrozen: (f) => { frozen = f; },
    sourcesReady: () => sourcesReady,
    settled: () => schedule(),
    log: lines,
    containers,
    async stopContainer(id) {
      for (const p of [...pods.values(), ...old]) {
        if (p.container?.id !== id) continue;
        log("I", `"Container stopped by the runtime" containerID="${id}"`);
        await p.container.terminate(scaled(sim, 2000));
        // A replaced pod whose container has ended no longer holds up its successor.
        for (const [name, q] of pods) {
          if (q !== p || !(q as Pod & { blocked?: string }).blocked) continue;
          const text = await readFile(q.file).catch(() => undefined);
          if (!text) continue;
          const next = newPod(q.file, text);
          replaced.set(q.component, (replaced.get(q.component) ?? 0) + 1);
          order.push(q.component);
          pods.set(name, next);
          await startContainer(next);
        }
        return true;
      }
      return false;
    },
    active: () => running,
    async stopService() {
      if (!running) return;
      log("I", "\"Stopping kubelet\"");
      await end();
    },
    async restart() {
      if (running) {
        log("I", "\"Stopping kubelet\"");
        await end();
      }
      log("I", "\"Starting kubelet\"");
      // The manifests as they are now: a pod whose manifest changed is replaced, its old container killed.
      for (const [name, p] of [...pods]) {
        if (!(p as Pod & { blocked?: string }).blocked) continue;
        pods.delete(name);
        replaced.set(p.component, (replaced.get(p.component) ?? 0) + 1);
        order.push(p.component);
        await terminate(p);
      }
      await begin();
    },
    async stop() {
      stopped = true;
      await control.close?.();
      await end();
      for (const p of [...pods.values(), ...old]) if (p.retry) clearTimeout(p.retry);
      await Promise.all([...pods.values(), ...old].map((p) => p.container?.terminate(0)));
    },
  };
  control.close = await serveControl(o.root, double);
  return double;
}
