// Test double of the Kubernetes API server, for the coordination tests: an HTTPS server with the
// sandbox's apiserver certificate that requires client certificates signed by the sandbox CA and
// implements the Lease, Event, Node and Pod endpoints renew-certs uses, with Kubernetes' semantics:
// create of an existing object answers 409 AlreadyExists, an update with a stale resourceVersion
// answers 409 Conflict, a missing object 404 NotFound, each as a Status object.
import { createServer, type Server } from "node:https";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AddressInfo } from "node:net";

/** What the double holds; tests read and seed it directly. */
export interface KubeApiState {
  leases: Map<string, Record<string, unknown> & { metadata: { resourceVersion: string } }>;
  events: Record<string, unknown>[];
  nodes: Record<string, unknown>[];
  pods: { metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { nodeName?: string } }[];
  /** /livez answers ok while true. */
  healthy: boolean;
  /** Requests seen, "METHOD path". */
  requests: string[];
}

/** A running API server double. */
export interface KubeApiDouble {
  port: number;
  state: KubeApiState;
  close(): Promise<void>;
}

let rv = 1;
const status = (code: number, reason: string, message: string) => ({ kind: "Status", apiVersion: "v1", status: "Failure", reason, message, code });

/** Starts the double on `port` (0: any) with the sandbox's certificates under `root`. */
export async function startKubeApi(root: string, port = 0): Promise<KubeApiDouble> {
  const pki = join(root, "etc/kubernetes/pki");
  const state: KubeApiState = { leases: new Map(), events: [], nodes: [], pods: [], healthy: true, requests: [] };
  const server: Server = createServer({
    cert: await readFile(join(pki, "apiserver.crt")), key: await readFile(join(pki, "apiserver.key")),
    ca: await readFile(join(pki, "ca.crt")), requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://x");
      const path = url.pathname;
      state.requests.push(`${req.method} ${path}`);
      const send = (code: number, body: unknown): void => {
        res.writeHead(code, { "content-type": "application/json" });
        res.end(typeof body === "string" ? body : JSON.stringify(body));
      };
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> & { metadata?: Record<string, string> } : undefined;
      const lease = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/kube-system\/leases(?:\/([^/]+))?$/.exec(path);
      if (path === "/livez") return state.healthy ? (res.writeHead(200), res.end("ok")) : (res.writeHead(500), res.end("[-]etcd failed"));
      if (lease) {
        const name = lease[1];
        if (req.method === "GET" && name) {
          const l = state.leases.get(name);
          return l ? send(200, l) : send(404, status(404, "NotFound", `leases.coordination.k8s.io "${name}" not found`));
        }
        if (req.method === "POST" && !name && body) {
          const n = body.metadata!["name"]!;
          if (state.leases.has(n)) return send(409, status(409, "AlreadyExists", `leases.coordination.k8s.io "${n}" already exists`));
          const created = { ...body, metadata: { ...body.metadata, resourceVersion: String(rv++) } };
          state.leases.set(n, created as never);
          return send(201, created);
        }
        if (req.method === "PUT" && name && body) {
          const cur = state.leases.get(name);
          if (!cur) return send(404, status(404, "NotFound", `leases.coordination.k8s.io "${name}" not found`));
          if (body.metadata?.["resourceVersion"] !== cur.metadata.resourceVersion) {
            return send(409, status(409, "Conflict", `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`));
          }
          const updated = { ...body, metadata: { ...body.metadata, resourceVersion: String(rv++) } };
          state.leases.set(name, updated as never);
          return send(200, updated);
        }
      }
      if (req.method === "POST" && path === "/api/v1/namespaces/default/events" && body) {
        const ev = { ...body, metadata: { ...body.metadata, name: `${body.metadata?.["generateName"] ?? "event."}${rv++}`, namespace: "default" } };
        state.events.push(ev);
        return send(201, ev);
      }
      if (req.method === "GET" && path === "/api/v1/nodes") return send(200, { kind: "NodeList", items: state.nodes });
      const pods = /^\/api\/v1\/namespaces\/kube-system\/pods(?:\/([^/]+))?$/.exec(path);
      if (req.method === "GET" && pods) {
        if (pods[1]) {
          const p = state.pods.find((x) => x.metadata.name === pods[1]);
          return p ? send(200, p) : send(404, status(404, "NotFound", `pods "${pods[1]}" not found`));
        }
        const [k, v] = (url.searchParams.get("labelSelector") ?? "=").split("=");
        return send(200, { kind: "PodList", items: state.pods.filter((p) => !k || p.metadata.labels?.[k] === v) });
      }
      send(404, status(404, "NotFound", `the server could not find the requested resource (${req.method} ${path})`));
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    state,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
