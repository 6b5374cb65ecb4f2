import { isMap, type Document } from "yaml";
import { LISTS } from "./config-spec.js";
import type { ControlPlaneDocument } from "./documents.js";

/** The annotation KubeadmControlPlane reads to decide a rollout before certificates expire. */
export const CERTIFICATES_EXPIRY_ANNOTATION = "machine.cluster.x-k8s.io/certificates-expiry";

function getIn(value: unknown, path: string[]): unknown {
  let v = value;
  for (const k of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/**
 * A warning when the control plane also asks Cluster API to replace its machines before their
 * certificates expire (v1beta1 `rolloutBefore.certificatesExpiryDays`, v1beta2
 * `rollout.before.certificatesExpiryDays`): two mechanisms at once.
 */
export function rolloutWarnings(cp: ControlPlaneDocument): string[] {
  const field = cp.version === "v1beta1" ? ["rolloutBefore", "certificatesExpiryDays"] : ["rollout", "before", "certificatesExpiryDays"];
  const days = getIn(cp.doc.toJS(), [...cp.specPath, ...field]);
  if (days === undefined || days === null) return [];
  return [
    `${cp.label} also sets ${[...cp.specPath, ...field].join(".")}: ${String(days)}: Cluster API will still replace each control-plane machine ${String(days)} days before the expiry recorded in its KubeadmConfig's ${CERTIFICATES_EXPIRY_ANNOTATION} annotation, which renewal in place does not update; keep one of the two mechanisms (see docs/cluster-api.md)`,
  ];
}

const TEMPLATE_ROOT = "/spec/template/spec/kubeadmConfigSpec";
/** JSON-patch paths that replace a whole list capi patch adds to, or one of its parents. */
const CLOBBERING = new Set(["/spec", "/spec/template", "/spec/template/spec", TEMPLATE_ROOT, ...LISTS.map((l) => `${TEMPLATE_ROOT}/${l}`)]);

/**
 * Warnings for a ClusterClass whose patches set a whole kubeadmConfigSpec list of the
 * KubeadmControlPlaneTemplate: a JSON-patch `add` on an existing list replaces it, so the
 * entries capi patch added to the template never reach the machines.
 */
export function clusterClassWarnings(doc: Document.Parsed, number: number): string[] {
  if (!isMap(doc.contents)) return [];
  const data = doc.toJS() as Record<string, unknown>;
  if (data["kind"] !== "ClusterClass" || !String(data["apiVersion"]).startsWith("cluster.x-k8s.io/")) return [];
  const label = `document ${number} (ClusterClass ${String(getIn(data, ["metadata", "name"]) ?? "<no name>")})`;
  const out: string[] = [];
  const patches = getIn(data, ["spec", "patches"]);
  for (const patch of Array.isArray(patches) ? patches : []) {
    const definitions = (patch as Record<string, unknown>)?.["definitions"];
    for (const def of Array.isArray(definitions) ? definitions : []) {
      if (getIn(def, ["selector", "kind"]) !== "KubeadmControlPlaneTemplate") continue;
      const ops = (def as Record<string, unknown>)["jsonPatches"];
      for (const op of Array.isArray(ops) ? ops : []) {
        const o = op as Record<string, unknown>;
        const path = String(o["path"] ?? "").replace(/\/+$/, "");
        if (!["add", "replace", "remove"].includes(String(o["op"])) || !CLOBBERING.has(path)) continue;
        const what = path.startsWith(`${TEMPLATE_ROOT}/`) ? "the whole list" : `everything under ${path}`;
        out.push(
          `${label}: patch "${String((patch as Record<string, unknown>)["name"])}" does "${String(o["op"])}" on ${path} of the KubeadmControlPlaneTemplate, which ${o["op"] === "remove" ? "removes" : "replaces"} ${what}, dropping the renew-certs entries from every control plane of this class: make it append instead (path ${path.startsWith(`${TEMPLATE_ROOT}/`) ? path : TEMPLATE_ROOT + "/files"}/-, one entry per operation)`,
        );
      }
    }
  }
  return out;
}
