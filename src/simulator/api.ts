// The REST part of the kube-apiserver test double: the endpoints renew-certs and the kubelet double
// use, with Kubernetes' semantics. Creating an existing object answers 409 AlreadyExists, an update
// with a stale resourceVersion 409 Conflict, a missing object 404 NotFound, each as a Status; a
// client without a certificate is system:anonymous and may read only the health endpoints (and
// kube-public/cluster-info, as after kubeadm's bootstrap-token phase, unless told not to), and a
// client certificate that does not verify (another CA, expired) is 401 Unauthorized, as the real
// authenticator answers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { randomUUID } from "node:crypto";
import type { KubeObject, ObjectStore } from "./store.js";
import { coreTarget, forbiddenMessage, handleCore } from "./api-core.js";
import { handleNode, identityOfSubject } from "./nodes.js";

/** What the handler needs from the process around it. */
export interface ApiContext {
  store: ObjectStore;
  /** /livez and /readyz answer ok while true. */
  healthy: () => boolean;
  /** kube-public/cluster-info is readable without a certificate, as after kubeadm's bootstrap-token phase (default true). */
  anonymousClusterInfo?: boolean;
}

const status = (code: number, reason: string, message: string) => ({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason, message, code });
const PUBLIC = new Set(["/livez", "/readyz", "/healthz", "/version"]);
const LEASE = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;
const POD = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(\/status)?$/;
const EVENT = /^\/api\/v1\/namespaces\/([^/]+)\/events$/;
const NODE = /^\/api\/v1\/nodes(?:\/([^/]+))?(\/status)?$/;

/** Handles one request (its body already read). */
export function handle(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
  const url = new URL(req.url ?? "/", "https://x");
  const path = url.pathname;
  const method = req.method ?? "GET";
  const send = (code: number, body: unknown): void => {
    res.writeHead(code, { "content-type": typeof body === "string" ? "text/plain" : "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };
  const sock = req.socket as TLSSocket;
  const presented = Object.keys(sock.getPeerCertificate?.() ?? {}).length > 0;
  if (presented && !sock.authorized) return send(401, status(401, "Unauthorized", "Unauthorized"));
  if (PUBLIC.has(path)) {
    if (path === "/version") return send(200, { major: "1", minor: "28", gitVersion: "v1.28.7" });
    return ctx.healthy() ? send(200, "ok") : send(500, "[-]etcd failed: reason withheld\nlivez check failed");
  }
  const clusterInfo = method === "GET" && path === "/api/v1/namespaces/kube-public/configmaps/cluster-info" && ctx.anonymousClusterInfo !== false;
  if (!presented && !clusterInfo) return send(403, status(403, "Forbidden", forbiddenMessage("system:anonymous", method, path)));
  let body: KubeObject | undefined;
  try {
    body = raw.length ? (JSON.parse(raw.toString()) as KubeObject) : undefined;
  } catch {
    return send(400, status(400, "BadRequest", "the body is not JSON"));
  }
  const s = ctx.store;
  const notFound = (kind: string, name: string) => send(404, status(404, "NotFound", `${kind} "${name}" not found`));

  const core = coreTarget(path);
  const answer = core && handleCore(s, core, method, body);
  if (answer) return send(answer.code, answer.body);
  const lease = LEASE.exec(path);
  if (lease) {
    const [, ns, name] = lease;
    const key = `leases/${ns}/${name ?? body?.metadata.name ?? ""}`;
    const cur = s.get(key);
    if (method === "GET" && name) return cur ? send(200, cur) : notFound("leases.coordination.k8s.io", name);
    if (method === "POST" && !name && body) {
      if (cur) return send(409, status(409, "AlreadyExists", `leases.coordination.k8s.io "${body.metadata.name}" already exists`));
      return send(201, s.put(key, { ...body, metadata: { ...body.metadata, namespace: ns!, uid: randomUUID() } }));
    }
    if (method === "PUT" && name && body) {
      if (!cur) return notFound("leases.coordination.k8s.io", name);
      if (body.metadata.resourceVersion !== cur.metadata.resourceVersion) {
        return send(409, status(409, "Conflict", `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`));
      }
      return send(200, s.put(key, body));
    }
  }
  const ev = EVENT.exec(path);
  if (ev && method === "POST" && body) {
    const name = `${String(body.metadata["generateName"] ?? "event.")}${randomUUID().slice(0, 8)}`;
    return send(201, s.put(`events/${ev[1]}/${name}`, { ...body, metadata: { ...body.metadata, name, namespace: ev[1]! } }));
  }
  if (ev && method === "GET") return send(200, { kind: "EventList", apiVersion: "v1", items: s.list(`events/${ev[1]}/`) });
  const node = NODE.exec(path);
  if (node) {
    // Nodes, with the node authorizer and NodeRestriction (nodes.ts).
    const client = identityOfSubject(sock.getPeerCertificate?.()?.subject as { CN?: string; O?: string | string[] } | undefined);
    const a = handleNode({ store: s, method, name: decodeURIComponent(node[1] ?? ""), status: Boolean(node[2]), body, contentType: req.headers["content-type"] ?? "", client });
    return send(a.code, a.body);
  }
  const pod = POD.exec(path);
  if (pod) {
    const [, ns, name] = pod;
    if (method === "GET" && !name) {
      const [k, v] = (url.searchParams.get("labelSelector") ?? "=").split("=");
      const items = s.list(`pods/${ns}/`).filter((p) => !k || (p.metadata["labels"] as Record<string, string> | undefined)?.[k] === v);
      return send(200, { kind: "PodList", apiVersion: "v1", items });
    }
    const key = `pods/${ns}/${name}`;
    const cur = s.get(key);
    if (method === "GET") return cur ? send(200, cur) : notFound("pods", name!);
    // The kubelet double reports its mirror pods with a PUT (an upsert: it owns them).
    if (method === "PUT" && body) return send(cur ? 200 : 201, s.put(key, { ...body, metadata: { ...body.metadata, namespace: ns! } }));
    if (method === "DELETE") return s.delete(key) ? send(200, cur) : notFound("pods", name!);
  }
  send(404, status(404, "NotFound", `the server could not find the requested resource (${method} ${path})`));
}
