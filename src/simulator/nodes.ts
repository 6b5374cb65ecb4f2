// The Node endpoints of the API server double, with the two gates a kubelet's credentials meet in
// kube-apiserver (v1.28; quoted from the Kubernetes source):
// - the node authorizer (plugin/pkg/auth/authorizer/node/node_authorizer.go, authorizeNode): for
//   "create", "update", "patch" it allows every node and leaves the limit to NodeRestriction; a read
//   of another Node or of the list is denied ("node 'x' cannot read all nodes, only its own Node
//   object": the rule of recent versions, stricter than v1.28's RBAC, so nothing here relies on it);
// - NodeRestriction (plugin/pkg/admission/noderestriction/admission.go, admitNode): a node may
//   create or modify only its own Node (`node "a" is not allowed to modify node "b"`), may not
//   change its taints, and may not add, change or remove a label in node-restriction.kubernetes.io
//   nor a kubernetes.io / k8s.io label outside the kubelet's own set ("is not allowed to modify
//   labels: …"). Annotations are not checked at all: a kubelet may write any annotation on its Node.
// Any other client with a verified certificate (admin.conf's kubeadm:cluster-admins, system:masters,
// the control-plane components) may do everything, as the double has no RBAC.
import type { KubeObject, ObjectStore } from "./store.js";

/** Who a verified client certificate says the client is: CN is the user, each O a group. */
export interface ClientIdentity {
  user: string;
  groups: string[];
}

/** The identity of a peer certificate's subject, as kube-apiserver's x509 authenticator reads it. */
export function identityOfSubject(subject: { CN?: string | string[]; O?: string | string[] } | undefined): ClientIdentity {
  const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return { user: list(subject?.CN)[0] ?? "", groups: list(subject?.O) };
}

/** An answer: the HTTP status and its body (an object or a Status). */
export interface NodeAnswer {
  code: number;
  body: unknown;
}

const failure = (code: number, reason: string, message: string): NodeAnswer => ({
  code, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason, message, code },
});
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch; a strategic merge patch is the same for the maps a Node report sets (labels, annotations). Pure. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// kubeletapis.IsKubeletLabel (pkg/kubelet/apis/well_known_labels.go): what a kubelet may set on itself.
const KUBELET_LABELS = new Set([
  "kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
  "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
]);
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

/** Whether NodeRestriction refuses a node that adds, changes or removes the label `key` on itself (getForbiddenLabels). Pure. */
export function forbiddenToNode(key: string): boolean {
  const ns = key.includes("/") ? key.slice(0, key.indexOf("/")) : "";
  const under = (d: string): boolean => ns === d || ns.endsWith(`.${d}`);
  if (under("node-restriction.kubernetes.io")) return true;
  const kubeletLabel = KUBELET_LABELS.has(key) || KUBELET_LABEL_NAMESPACES.some(under);
  return (under("kubernetes.io") || under("k8s.io")) && !kubeletLabel;
}

function modifiedLabels(a: unknown, b: unknown): string[] {
  const x = (isObject(a) ? a : {}) as Record<string, unknown>;
  const y = (isObject(b) ? b : {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => x[k] !== y[k]).sort();
}

/** One request on /api/v1/nodes[/NAME[/status]] (`name` "" for the collection). */
export interface NodeRequest {
  store: ObjectStore;
  method: string;
  name: string;
  status: boolean;
  body: KubeObject | undefined;
  contentType: string;
  client: ClientIdentity;
}

/** Answers one Node request (see the top of this file). */
export function handleNode(r: NodeRequest): NodeAnswer {
  const { store, method, name, client } = r;
  const self = client.groups.includes("system:nodes") ? /^system:node:(.+)$/.exec(client.user)?.[1] : undefined;
  const target = method === "POST" ? String(r.body?.metadata.name ?? "") : name;
  const verb = { GET: name ? "get" : "list", POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" }[method] ?? method.toLowerCase();
  if (self !== undefined && (verb === "get" || verb === "list") && target !== self) {
    const why = target ? `node '${self}' cannot read '${target}', only its own Node object` : `node '${self}' cannot read all nodes, only its own Node object`;
    const scope = target ? `nodes "${target}" is forbidden` : "nodes is forbidden";
    return failure(403, "Forbidden", `${scope}: User "${client.user}" cannot ${verb} resource "nodes" in API group "" at the cluster scope: ${why}`);
  }
  if (self !== undefined && verb !== "get" && target !== self) {
    return failure(403, "Forbidden", `nodes "${target}" is forbidden: node "${self}" is not allowed to modify node "${target}"`);
  }
  const key = `nodes/${target}`;
  const cur = store.get(key);
  if (verb === "list") return { code: 200, body: { kind: "NodeList", apiVersion: "v1", metadata: {}, items: store.list("nodes/") } };
  if (verb === "get") return cur ? { code: 200, body: cur } : failure(404, "NotFound", `nodes "${target}" not found`);
  if (verb === "create") {
    if (!r.body || !target) return failure(400, "BadRequest", "a Node needs metadata.name");
    if (cur) return failure(409, "AlreadyExists", `nodes "${target}" already exists`);
    const bad = self === undefined ? [] : modifiedLabels(r.body.metadata["labels"], undefined).filter(forbiddenToNode);
    if (bad.length) return failure(403, "Forbidden", `nodes "${target}" is forbidden: node "${self}" is not allowed to set the following labels: ${bad.join(", ")}`);
    return { code: 201, body: store.put(key, { ...r.body, apiVersion: "v1", kind: "Node" }) };
  }
  if (!cur) return failure(404, "NotFound", `nodes "${target}" not found`);
  let next: KubeObject;
  if (verb === "patch") {
    if (!/^application\/(merge-patch|strategic-merge-patch)\+json/.test(r.contentType)) {
      return failure(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
    }
    next = mergePatch(cur, r.body ?? {}) as KubeObject;
  } else if (verb === "update" && r.body) {
    const rv = r.body.metadata.resourceVersion;
    if (rv !== undefined && rv !== cur.metadata.resourceVersion) {
      return failure(409, "Conflict", `Operation cannot be fulfilled on nodes "${target}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    next = r.body;
  } else {
    return failure(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${method} nodes)`);
  }
  // The status subresource changes the status only; the main resource keeps the status it has.
  next = r.status ? { ...cur, status: next["status"] } : { ...next, status: cur["status"] };
  next = { ...next, metadata: { ...next.metadata, name: target, resourceVersion: cur.metadata.resourceVersion } };
  if (self !== undefined) {
    if (JSON.stringify((next["spec"] as { taints?: unknown } | undefined)?.taints) !== JSON.stringify((cur["spec"] as { taints?: unknown } | undefined)?.taints)) {
      return failure(403, "Forbidden", `nodes "${target}" is forbidden: node "${self}" is not allowed to modify taints`);
    }
    const bad = modifiedLabels(next.metadata["labels"], cur.metadata["labels"]).filter(forbiddenToNode);
    if (bad.length) return failure(403, "Forbidden", `nodes "${target}" is forbidden: is not allowed to modify labels: ${bad.join(", ")}`);
  }
  return { code: 200, body: store.put(key, next) };
}
