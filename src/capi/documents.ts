import { isMap, parseAllDocuments, type Document } from "yaml";
import { RenewCertsError } from "../errors.js";

/** The API group of Cluster API's kubeadm control plane. */
export const CONTROL_PLANE_GROUP = "controlplane.cluster.x-k8s.io";

/** The control-plane API versions `capi patch` understands. */
export const CONTROL_PLANE_VERSIONS = ["v1beta1", "v1beta2"] as const;

/** One KubeadmControlPlane or KubeadmControlPlaneTemplate of the input. */
export interface ControlPlaneDocument {
  doc: Document.Parsed;
  /** 1-based position in the input, as people count documents. */
  number: number;
  kind: "KubeadmControlPlane" | "KubeadmControlPlaneTemplate";
  version: (typeof CONTROL_PLANE_VERSIONS)[number];
  /** For messages: `document 3 (KubeadmControlPlane default/controlplane)`. */
  label: string;
  /** Where the control plane's spec is: ["spec"], or ["spec", "template", "spec"] for a template. */
  specPath: string[];
}

/** The name of the input for messages: a file name, or "stdin". */
export function sourceName(source: string | undefined): string {
  return source === undefined || source === "-" ? "stdin" : source;
}

/** The 1-based line and column of `offset` in `text`. */
export function linePos(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, col: offset - (before.lastIndexOf("\n") + 1) + 1 };
}

/**
 * Parses a multi-document YAML stream, keeping every node's source range.
 * Throws a MANIFEST error naming the document and line of the first syntax error.
 */
export function parseManifests(text: string, source?: string): Document.Parsed[] {
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const err = doc.errors[0];
    if (!err) return;
    const { line, col } = linePos(text, err.pos[0]);
    const reason = err.message.split("\n")[0]!.replace(/\s*at line \d+, column \d+.*$/, "");
    throw new RenewCertsError("MANIFEST", `${sourceName(source)}: document ${i + 1} is not valid YAML (line ${line}, column ${col}): ${reason}; fix the YAML and run again`, { file: sourceName(source) });
  });
  return list;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * The control plane in `doc`, or undefined for any other document (those pass through untouched).
 * Throws for a control plane `capi patch` cannot handle: an unknown version, no spec.
 */
export function controlPlaneOf(doc: Document.Parsed, number: number, source?: string): ControlPlaneDocument | undefined {
  if (!isMap(doc.contents)) return undefined;
  const kind = str(doc.get("kind"));
  const apiVersion = str(doc.get("apiVersion")) ?? "";
  if (kind !== "KubeadmControlPlane" && kind !== "KubeadmControlPlaneTemplate") return undefined;
  const [group, version] = apiVersion.split("/");
  if (group !== CONTROL_PLANE_GROUP) return undefined;
  const meta = doc.get("metadata");
  const name = isMap(meta) ? str(meta.get("name")) : undefined;
  const namespace = isMap(meta) ? str(meta.get("namespace")) : undefined;
  const label = `document ${number} (${kind} ${namespace ? `${namespace}/` : ""}${name ?? "<no name>"})`;
  const file = sourceName(source);
  if (!(CONTROL_PLANE_VERSIONS as readonly string[]).includes(version ?? "")) {
    throw new RenewCertsError("UNSUPPORTED", `${file}: ${label} has apiVersion ${apiVersion}: capi patch supports ${CONTROL_PLANE_VERSIONS.map((v) => `${CONTROL_PLANE_GROUP}/${v}`).join(" and ")}; upgrade the manifest (clusterctl upgrade) and run again`, { file });
  }
  const specPath = kind === "KubeadmControlPlane" ? ["spec"] : ["spec", "template", "spec"];
  for (let i = 1; i <= specPath.length; i++) {
    const at = specPath.slice(0, i);
    if (!isMap(doc.getIn(at, true))) {
      throw new RenewCertsError("MANIFEST", `${file}: ${label} has no ${at.join(".")} mapping: a ${kind} needs ${specPath.join(".")}.kubeadmConfigSpec; fix the manifest and run again`, { file });
    }
  }
  return { doc, number, kind, version: version as ControlPlaneDocument["version"], label, specPath };
}
