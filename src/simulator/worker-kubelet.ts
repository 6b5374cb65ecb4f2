// Test double of the kubelet on a worker node (a tree from src/sandbox/worker.ts), beside the
// control plane's (kubelet.ts). It behaves as the real one (v1.28) in what the worker job depends on:
// - at its start it reads kubelet.conf: the API server, the CA data (kept in memory until the next
//   start, as client-go does) and its client certificate;
// - it registers its own Node (POST /api/v1/nodes with its own credentials) when there is none, as
//   the real kubelet's registerWithAPIServer does, retrying until it is there (the node authorizer and
//   NodeRestriction let a kubelet create its own Node, and no other: nodes.ts);
// - it renews its node Lease (kube-node-lease/<node>) every 10 s, scaled, and makes a NEW connection
//   for every renewal, so that the CA cliff shows at once: past the NotAfter of the CA certificate it
//   read, every handshake fails ("x509: certificate has expired or is not yet valid") and the Lease
//   is no longer renewed (the real one fails at its next new connection: SPEC.md, "The cliff hits at
//   the next NEW connection");
// - it answers healthz where var/lib/kubelet/config.yaml says, whether or not it reaches the API;
// - `systemctl restart kubelet` through the control endpoint (control.ts) reads kubelet.conf anew;
//   `failStarts` makes that many starts fail (the process exits at once: healthz refused), a fault
//   that stays true until that many restarts have happened;
// - its log goes to var/log/kubelet.log under the root.
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { request } from "node:https";
import { createServer, type Server } from "node:http";
import { healthzEndpointOf } from "../kubelet/healthz.js";
import { KUBELET_LOG } from "../kubelet/sandbox-runtime.js";
import { LAYOUT } from "../inventory/catalog.js";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";
import { serveControl } from "./control.js";
import { DEFAULT_SIM_OPTIONS, scaled, type SimOptions } from "./timing.js";

/** The kubelet's node Lease renewal period (a quarter of nodeLeaseDurationSeconds, 40 s). */
const LEASE_RENEW_MS = 10_000;

/** Options of the worker kubelet double. */
export interface WorkerKubeletOptions {
  root: string;
  sim?: Partial<SimOptions>;
  /** Starts (from the next restart on) that fail at once. */
  failStarts?: number;
}

/** A running worker kubelet double. */
export interface WorkerKubelet {
  readonly nodeName: string;
  /** Lease renewals that reached the API server since the double was made. */
  renewals(): number;
  /** Starts so far (the first included), failed ones too. */
  starts(): number;
  /** The last error of a Lease renewal, if the last one failed. */
  lastError(): string | undefined;
  active(): boolean;
  setFailStarts(n: number): void;
  /** `systemctl restart kubelet`. */
  restart(): Promise<void>;
  readonly log: string[];
  stop(): Promise<void>;
}

const klogTime = (d: Date): string => `${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")} ${d.toISOString().slice(11, 23)}000`;

/** Starts the worker kubelet double; resolves once it runs (its first Lease renewal may still fail). */
export async function startWorkerKubelet(o: WorkerKubeletOptions): Promise<WorkerKubelet> {
  const sim: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...o.sim };
  const conf = join(o.root, LAYOUT.kubernetesDir, "kubelet.conf");
  const logFile = join(o.root, KUBELET_LOG);
  await mkdir(dirname(logFile), { recursive: true });
  const lines: string[] = [];
  const log = (sev: "I" | "E", msg: string): void => {
    const line = `${sev}${klogTime(new Date())}    ${process.pid} kubelet.go:0] ${msg}`;
    lines.push(line);
    void appendFile(logFile, line + "\n").catch(() => undefined);
  };
  let nodeName = "w-1";
  let failStarts = o.failStarts ?? 0;
  let starts = 0;
  let renewals = 0;
  let lastError: string | undefined;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let healthz: Server | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let loaded: { host: string; port: number; ca: string; client: string } | undefined;
  let registered = false;

  /** One API call on a new connection, with what was read at the start. */
  const call = (method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    const l = loaded!;
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request({
      host: l.host, port: l.port, method, path, ca: l.ca, cert: l.client, key: l.client, agent: false, timeout: 2000,
      headers: { accept: "application/json", ...(data ? { "content-type": "application/json", "content-length": data.length } : {}) },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { text += c; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("timeout", () => req.destroy(new Error("context deadline exceeded")));
    req.on("error", reject);
    req.end(data);
  });

  /** registerWithAPIServer: the Node is created when absent (409: another start made it), its status left to others here. */
  const register = async (): Promise<void> => {
    const cur = await call("GET", `/api/v1/nodes/${nodeName}`);
    if (cur.status === 404) {
      const labels = { "kubernetes.io/hostname": nodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" };
      const r = await call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: nodeName, labels } });
      if (r.status !== 201 && r.status !== 409) throw new Error(`Unable to register node with API server: the server answered ${r.status}`);
      log("I", `"Successfully registered node" node="${nodeName}"`);
    } else if (cur.status !== 200) {
      throw new Error(`Unable to register node with API server: the server answered ${cur.status}`);
    }
    registered = true;
  };

  const renewLease = async (): Promise<void> => {
    if (!running || !loaded) return;
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`;
    const renewTime = new Date().toISOString().replace("Z", "000Z"); // MicroTime
    try {
      if (!registered) await register();
      const cur = await call("GET", path);
      const spec = { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime };
      const r = cur.status === 404
        ? await call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: nodeName, namespace: "kube-node-lease" }, spec })
        : await call("PUT", path, { ...(JSON.parse(cur.body) as object), spec });
      if (r.status !== 200 && r.status !== 201) throw new Error(`the server answered ${r.status}`);
      renewals++;
      lastError = undefined;
    } catch (e) {
      lastError = (e as Error).message;
      log("E", `"Failed to update lease" err="Put \\"https://${loaded.host}:${loaded.port}${path}\\": ${lastError}"`);
    }
  };

  const begin = async (): Promise<void> => {
    starts++;
    log("I", "\"Starting kubelet\"");
    if (failStarts > 0) {
      failStarts--;
      log("E", "\"command failed\" err=\"failed to run Kubelet: exit status 1\"");
      return; // the process is gone: no healthz, no Lease
    }
    const kc = await parseKubeconfig(await readFile(conf, "utf8"), conf, o.root);
    nodeName = /^system:node:(.+)$/.exec(kc.userName)?.[1] ?? nodeName;
    const url = new URL(kc.server ?? "https://127.0.0.1:6443");
    const ca = kc.caPem ?? (kc.caFile ? await readFile(kc.caFile, "utf8") : "");
    const client = kc.clientCertificate?.kind === "file" ? await readFile(kc.clientCertificate.hostPath, "utf8") : kc.clientCertificate?.pem ?? "";
    loaded = { host: url.hostname, port: Number(url.port || 443), ca, client };
    running = true;
    const at = await healthzEndpointOf(o.root);
    if (at) {
      const server = createServer((req, res) => {
        req.resume();
        res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "text/plain; charset=utf-8" });
        res.end(req.url === "/healthz" ? "ok" : "404 page not found\n");
      });
      await new Promise<void>((resolve) => {
        server.once("error", (e) => { log("E", `"Failed to start healthz server" err="${e.message}"`); resolve(); });
        server.listen(at.port, at.host, () => { healthz = server; resolve(); });
      });
    }
    const tick = (): void => { inFlight = inFlight.then(renewLease); };
    timer = setInterval(tick, Math.max(200, scaled(sim, LEASE_RENEW_MS)));
    tick();
  };
  const end = async (): Promise<void> => {
    running = false;
    clearInterval(timer);
    const h = healthz;
    healthz = undefined;
    if (h) {
      h.closeAllConnections();
      await new Promise<void>((r) => h.close(() => r()));
    }
    await inFlight;
  };

  await begin();
  const double: WorkerKubelet = {
    get nodeName() { return nodeName; },
    renewals: () => renewals,
    starts: () => starts,
    lastError: () => lastError,
    active: () => running,
    setFailStarts: (n) => { failStarts = n; },
    log: lines,
    async restart() {
      if (running) log("I", "\"Stopping kubelet\"");
      await end();
      await begin();
    },
    async stop() {
      await control.close?.();
      await end();
    },
  };
  const control: { close?: () => Promise<void> } = {};
  control.close = await serveControl(o.root, { restart: () => double.restart(), containers: () => [], stopContainer: () => Promise.resolve(false) });
  return double;
}
