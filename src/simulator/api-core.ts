// The core/v1 objects of the API server double that a CA renewal reads and writes: Namespaces,
// ConfigMaps and Secrets, with the semantics of the real API (and of the Lease code in api.ts):
// creating an existing object is 409 AlreadyExists, an update with a stale resourceVersion 409
// Conflict, a missing object 404 NotFound, and an object in a namespace that does not exist 404
// (namespaces "x" not found). Who may read what is decided in api.ts, before this is called.
import { randomUUID } from "node:crypto";
import type { KubeObject, ObjectStore } from "./store.js";

/** An answer: HTTP status and body. */
export interface CoreAnswer {
  code: number;
  body: unknown;
}

/** A Status object, as the real API server answers every error. */
export const statusOf = (code: number, reason: string, message: string): CoreAnswer =>
  ({ code, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason, message, code } });

const NAMESPACED = /^\/api\/v1\/namespaces\/([^/]+)\/(configmaps|secrets)(?:\/([^/]+))?$/;
const ALL = /^\/api\/v1\/(configmaps|secrets)$/;
const NAMESPACE = /^\/api\/v1\/namespaces(?:\/([^/]+))?$/;
const KIND: Record<string, string> = { configmaps: "ConfigMap", secrets: "Secret", namespaces: "Namespace" };

/** The namespaces `kubeadm init` leaves behind; the double's store holds them from its first start. */
export const SEEDED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"] as const;

/** A namespaced object's place in the store ("configmaps/kube-public/cluster-info"). */
export const keyOf = (resource: string, ns: string, name: string): string => `${resource}/${ns}/${name}`;

/** Stores the namespaces of a fresh cluster that are not there yet. */
export function seedNamespaces(s: ObjectStore, now = new Date()): void {
  for (const name of SEEDED_NAMESPACES) if (!s.get(`namespaces/${name}`)) s.put(`namespaces/${name}`, namespaceObject(name, now));
}

function namespaceObject(name: string, now: Date): KubeObject {
  return {
    apiVersion: "v1", kind: "Namespace",
    metadata: { name, uid: randomUUID(), creationTimestamp: now.toISOString().replace(/\.\d+Z$/, "Z"), labels: { "kubernetes.io/metadata.name": name } },
    spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" },
  };
}

/** A request's place: the resource ("configmaps"), namespace and name as the path names them. */
export interface CoreTarget {
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

/** What `path` names among the objects handled here (undefined: not one of them). */
export function coreTarget(path: string): CoreTarget | undefined {
  const n = NAMESPACED.exec(path);
  if (n) return { resource: n[2]!, namespace: n[1]!, name: n[3] };
  const a = ALL.exec(path);
  if (a) return { resource: a[1]!, namespace: undefined, name: undefined };
  const ns = NAMESPACE.exec(path);
  if (ns) return { resource: "namespaces", namespace: undefined, name: ns[1] };
  return undefined;
}

/** Handles a request on `t` (coreTarget) with its parsed body; undefined when the method does not apply. */
export function handleCore(s: ObjectStore, t: CoreTarget, method: string, body: KubeObject | undefined): CoreAnswer | undefined {
  const list = (items: KubeObject[]): CoreAnswer => ({ code: 200, body: { kind: `${KIND[t.resource]}List`, apiVersion: "v1", metadata: {}, items } });
  if (t.resource === "namespaces") {
    if (method === "GET" && !t.name) return list(s.list("namespaces/"));
    if (method === "GET") return found(s.get(`namespaces/${t.name}`), "namespaces", t.name!);
    if (method === "POST" && !t.name && body?.metadata?.name) {
      const name = body.metadata.name;
      if (s.get(`namespaces/${name}`)) return statusOf(409, "AlreadyExists", `namespaces "${name}" already exists`);
      const made = namespaceObject(name, new Date());
      return { code: 201, body: s.put(`namespaces/${name}`, { ...made, metadata: { ...made.metadata, ...body.metadata } }) };
    }
    return undefined;
  }
  if (!t.namespace) return method === "GET" ? list(s.list(`${t.resource}/`)) : undefined;
  const ns = t.namespace;
  if (!t.name && method === "GET") return list(s.list(`${t.resource}/${ns}/`));
  const name = t.name ?? body?.metadata?.name;
  if (!name) return undefined;
  const key = keyOf(t.resource, ns, name);
  const cur = s.get(key);
  if (method === "GET") return found(cur, t.resource, name);
  if (method === "DELETE") return cur && s.delete(key) ? { code: 200, body: cur } : found(undefined, t.resource, name);
  if (!body) return undefined;
  if (body.metadata?.name !== name) return statusOf(400, "BadRequest", `the name of the object (${String(body.metadata?.name)}) does not match the name on the URL (${name})`);
  if (method === "POST" && !t.name) {
    if (!s.get(`namespaces/${ns}`)) return statusOf(404, "NotFound", `namespaces "${ns}" not found`);
    if (cur) return statusOf(409, "AlreadyExists", `${t.resource} "${name}" already exists`);
    const meta = { ...body.metadata };
    delete meta.resourceVersion;
    const created = { ...meta, namespace: ns, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
    return { code: 201, body: s.put(key, { ...body, kind: KIND[t.resource]!, apiVersion: "v1", metadata: created }) };
  }
  if (method === "PUT" && t.name) {
    if (!cur) return found(undefined, t.resource, name);
    // An update without a resourceVersion is unconditional, as on the real API server.
    const rv = body.metadata.resourceVersion;
    if (rv !== undefined && rv !== cur.metadata.resourceVersion) {
      return statusOf(409, "Conflict", `Operation cannot be fulfilled on ${t.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const kept = { uid: cur.metadata["uid"], creationTimestamp: cur.metadata["creationTimestamp"], namespace: ns, resourceVersion: cur.metadata.resourceVersion };
    return { code: 200, body: s.put(key, { ...body, kind: KIND[t.resource]!, apiVersion: "v1", metadata: { ...body.metadata, ...kept } }) };
  }
  return undefined;
}

function found(o: KubeObject | undefined, resource: string, name: string): CoreAnswer {
  return o ? { code: 200, body: o } : statusOf(404, "NotFound", `${resource} "${name}" not found`);
}

/**
 * The message of a 403 for an anonymous client, as the real authorizer words it: for an object
 * `configmaps "x" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API
 * group "" in the namespace "ns"`, for anything else `... cannot get path "/..."`.
 */
export function forbiddenMessage(user: string, method: string, path: string): string {
  const verb = ({ GET: "get", POST: "create", PUT: "update", DELETE: "delete", PATCH: "patch" } as Record<string, string>)[method] ?? method.toLowerCase();
  const t = coreTarget(path);
  if (!t) return `forbidden: User "${user}" cannot ${verb} path "${path}"`;
  const v = verb === "get" && !t.name ? "list" : verb;
  const what = t.name ? `${t.resource} "${t.name}" is forbidden` : `${t.resource} is forbidden`;
  const where = t.namespace ? ` in the namespace "${t.namespace}"` : t.resource === "namespaces" ? "" : " at the cluster scope";
  return `${what}: User "${user}" cannot ${v} resource "${t.resource}" in API group ""${where}`;
}
