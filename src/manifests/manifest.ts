import { basename, extname } from "node:path";
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap } from "yaml";
import { RenewCertsError } from "../errors.js";
import { readText } from "../util/fs.js";

/** A host and port to connect to. */
export interface Endpoint {
  host: string;
  port: number;
}

/** What renew-certs needs from one static pod manifest. */
export interface ManifestInfo {
  file: string;
  /** The component: the file's base name without extension ("kube-apiserver"). */
  component: string;
  /** metadata.name. */
  name: string;
  /** metadata.annotations (string values only). */
  annotations: Record<string, string>;
  /** Flags of the first container (command and args), keyed without the leading dashes: "secure-port" → "10257"; a bare flag → "true". */
  flags: Map<string, string>;
  /** kube-apiserver: kubeadm's endpoint annotation, else --advertise-address and --secure-port, else 127.0.0.1:6443. */
  advertiseEndpoint: Endpoint;
  /** The first container's image ("registry.k8s.io/kube-apiserver:v1.31.4"), if it names one. */
  image?: string;
  /** kube-controller-manager / kube-scheduler: --bind-address (127.0.0.1 when unset or a wildcard) and --secure-port (default 10257 / 10259). */
  secureEndpoint: Endpoint | undefined;
}

/** kubeadm's annotation with the API server's advertise endpoint ("10.0.0.1:6443", "[fd00::1]:6443"). */
export const ENDPOINT_ANNOTATION = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint";

/** Default secure ports of the components that serve /healthz. */
export const DEFAULT_SECURE_PORTS: Readonly<Record<string, number>> = { "kube-apiserver": 6443, "kube-controller-manager": 10257, "kube-scheduler": 10259 };

/** The component name of a manifest file: "kube-apiserver.yaml" → "kube-apiserver". */
export function componentOf(file: string): string {
  const b = basename(file);
  return b.slice(0, b.length - extname(b).length);
}

/** Splits "host:port" or "[v6]:port"; undefined when it is not one. */
export function parseEndpoint(s: string): Endpoint | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

/** "host:port", with brackets around an IPv6 host. */
export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

function bad(file: string, why: string): RenewCertsError {
  return new RenewCertsError("MANIFEST", `static pod manifest ${file} ${why}: fix it or restore it from a backup (the kubelet cannot run it either)`, { file });
}

/** Parses a manifest's YAML and checks it is a pod with metadata.name; throws MANIFEST naming the file. */
export function parseManifestDocument(text: string, file: string): { doc: Document; metadata: YAMLMap } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const line = doc.errors[0]!.linePos?.[0]?.line;
    throw bad(file, `is not valid YAML${line ? ` (line ${line})` : ""}`);
  }
  if (!isMap(doc.contents)) throw bad(file, "is not a pod (expected a YAML mapping with metadata and spec)");
  const metadata = doc.get("metadata", true);
  if (!isMap(metadata)) throw bad(file, "has no metadata");
  const name = metadata.get("name");
  if (typeof name !== "string" || name === "") throw bad(file, "has no metadata.name");
  const annotations = metadata.get("annotations", true);
  if (annotations !== undefined && !isMap(annotations) && !(isScalar(annotations) && annotations.value === null)) {
    throw bad(file, "has metadata.annotations that is not a mapping");
  }
  return { doc, metadata };
}

function imageOf(doc: Document): string | undefined {
  const image = doc.getIn(["spec", "containers", 0, "image"]);
  return typeof image === "string" && image !== "" ? image : undefined;
}

function flagsOf(doc: Document, file: string): Map<string, string> {
  const containers = doc.getIn(["spec", "containers"], true);
  if (!isSeq(containers) || !isMap(containers.items[0])) throw bad(file, "has no spec.containers");
  const first = containers.items[0];
  const words: unknown[] = [];
  for (const key of ["command", "args"]) {
    const seq = first.get(key, true);
    if (isSeq(seq)) words.push(...seq.items.map((i) => (i as { value?: unknown }).value));
  }
  const flags = new Map<string, string>();
  for (const w of words) {
    if (typeof w !== "string" || !w.startsWith("--")) continue;
    const eq = w.indexOf("=");
    if (eq < 0) flags.set(w.slice(2), "true");
    else flags.set(w.slice(2, eq), w.slice(eq + 1));
  }
  return flags;
}

function portFlag(flags: Map<string, string>, fallback: number): number {
  const p = Number(flags.get("secure-port"));
  return Number.isInteger(p) && p > 0 && p < 65536 ? p : fallback;
}

/** Parses manifest `text` read from `file` (pure). Throws MANIFEST naming the file when it is not a pod. */
export function parseManifest(text: string, file: string): ManifestInfo {
  const { doc, metadata } = parseManifestDocument(text, file);
  const annotations: Record<string, string> = {};
  const ann = metadata.get("annotations", true);
  if (isMap(ann)) {
    for (const p of ann.items) {
      const k = (p.key as { value?: unknown } | null)?.value;
      const v = (p.value as { value?: unknown } | null)?.value;
      if (typeof k === "string") annotations[k] = typeof v === "string" ? v : String(v ?? "");
    }
  }
  const flags = flagsOf(doc, file);
  const component = componentOf(file);
  const fromAnnotation = annotations[ENDPOINT_ANNOTATION] ? parseEndpoint(annotations[ENDPOINT_ANNOTATION]) : undefined;
  const address = flags.get("advertise-address");
  const advertiseEndpoint = fromAnnotation ?? (address ? { host: address, port: portFlag(flags, 6443) } : { host: "127.0.0.1", port: portFlag(flags, 6443) });
  let secureEndpoint: Endpoint | undefined;
  const defaultPort = DEFAULT_SECURE_PORTS[component];
  if (defaultPort !== undefined && component !== "kube-apiserver") {
    const bind = flags.get("bind-address");
    const host = !bind || bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind;
    secureEndpoint = { host, port: portFlag(flags, defaultPort) };
  }
  const image = imageOf(doc);
  return { file, component, name: metadata.get("name") as string, annotations, flags, advertiseEndpoint, secureEndpoint, ...(image ? { image } : {}) };
}

/** Reads and parses the manifest `file` (see parseManifest). */
export async function readManifest(file: string): Promise<ManifestInfo> {
  return parseManifest(await readText(file, "static pod manifest"), file);
}
