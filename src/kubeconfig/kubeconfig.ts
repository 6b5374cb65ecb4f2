import { isAbsolute, join, dirname } from "node:path";
import type { Document, YAMLMap } from "yaml";
import { RenewCertsError } from "../errors.js";
import { decodeBase64Field } from "../pki/pem.js";
import { readPlainBlockYaml } from "./block-yaml.js";

// The yaml library is loaded on first use: kubeconfigs as kubeadm and kubectl write them are read
// without it (block-yaml.ts, for `status`); it parses anything else, and locates what a renewal
// edits in every kubeconfig (util/yaml-splice.ts splices the text there).
type Yaml = typeof import("yaml");
let yamlModule: Promise<Yaml> | undefined;
function loadYaml(): Promise<Yaml> {
  return (yamlModule ??= import("yaml"));
}

/** Where a kubeconfig keeps one piece of PEM: inline (base64 `*-data`) or in a file. */
export type PemSource = { kind: "data"; pem: string } | { kind: "file"; path: string; hostPath: string };

/** A parsed kubeconfig, reduced to what certificate renewal needs, plus its text. */
export interface Kubeconfig {
  file: string;
  text: string;
  currentContext: string;
  userName: string;
  clusterName: string;
  server: string | undefined;
  clientCertificate: PemSource | undefined;
  clientKey: PemSource | undefined;
  /** The CA in certificate-authority-data, when embedded. */
  caPem: string | undefined;
  /** The file named by certificate-authority (resolved like the client files), when there is one. */
  caFile: string | undefined;
  /** The user's bearer token, when it authenticates with one (a workstation's kubeconfig). */
  token?: string;
}

function missing(file: string, what: string): RenewCertsError {
  return new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: missing ${what}: restore it from a backup`, { file });
}

/** The inner object of the entry of `section` (contexts, users, clusters) called `name`. */
function named(config: Record<string, unknown>, section: string, name: string, file: string): Record<string, unknown> {
  const list = config[section];
  if (!Array.isArray(list)) throw missing(file, section);
  for (const item of list as unknown[]) {
    if (isObject(item) && item["name"] === name) {
      const inner = item[section.slice(0, -1)];
      if (isObject(inner)) return inner;
    }
  }
  throw missing(file, `${section.slice(0, -1)} ${name}`);
}

/** The same entry as a node of the YAML document, for editing it in place. */
function namedNode(yaml: Yaml, doc: Document, section: string, name: string, file: string): YAMLMap {
  const seq = doc.get(section);
  if (!yaml.isSeq(seq)) throw missing(file, section);
  for (const item of seq.items) {
    if (yaml.isMap(item) && item.get("name") === name) {
      const inner = item.get(section.slice(0, -1));
      if (yaml.isMap(inner)) return inner;
    }
  }
  throw missing(file, `${section.slice(0, -1)} ${name}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses kubeconfig `text` read from `file`. `root` resolves absolute file references
 * (client-certificate: /var/lib/…) under --root; relative ones resolve beside the kubeconfig.
 */
export async function parseKubeconfig(text: string, file: string, root = "/"): Promise<Kubeconfig> {
  const config = readPlainBlockYaml(text) ?? (await parseWithLibrary(text, file));
  if (!isObject(config)) {
    throw new RenewCertsError("KUBECONFIG", `kubeconfig ${file} is not a kubeconfig (expected a YAML mapping with clusters, users and contexts): restore it from a backup`, { file });
  }
  const currentContext = config["current-context"];
  if (typeof currentContext !== "string" || currentContext === "") {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: no current-context: restore it from a backup`, { file });
  }
  const context = named(config, "contexts", currentContext, file);
  const userName = context["user"];
  const clusterName = context["cluster"];
  if (typeof userName !== "string" || userName === "") {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: context ${currentContext} names no user: restore it from a backup`, { file });
  }
  if (typeof clusterName !== "string" || clusterName === "") {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: context ${currentContext} names no cluster: restore it from a backup`, { file });
  }
  const user = named(config, "users", userName, file);
  const cluster = named(config, "clusters", clusterName, file);
  const resolve = (ref: string): string => (isAbsolute(ref) ? join(root, ref) : join(dirname(file), ref));
  const caRef = cluster["certificate-authority"];
  const source = (dataKey: string, fileKey: string): PemSource | undefined => {
    const data = user[dataKey];
    if (data !== undefined && data !== null) return { kind: "data", pem: decodeBase64Field(data, `${file} (users[${userName}].user.${dataKey})`) };
    const ref = user[fileKey];
    if (typeof ref === "string" && ref !== "") {
      return { kind: "file", path: ref, hostPath: resolve(ref) };
    }
    return undefined;
  };
  const caData = cluster["certificate-authority-data"];
  const server = cluster["server"];
  return {
    file,
    text,
    currentContext,
    userName,
    clusterName,
    server: typeof server === "string" ? server : undefined,
    clientCertificate: source("client-certificate-data", "client-certificate"),
    clientKey: source("client-key-data", "client-key"),
    caPem: caData === undefined || caData === null ? undefined : decodeBase64Field(caData, `${file} (clusters[${clusterName}].cluster.certificate-authority-data)`),
    caFile: typeof caRef === "string" && caRef !== "" ? resolve(caRef) : undefined,
    ...(typeof user["token"] === "string" && user["token"] !== "" ? { token: user["token"] } : {}),
  };
}

/**
 * The kubeconfig text with new embedded client certificate, key and CA for the current user
 * and cluster: each value is replaced where it stands (or added to its mapping), every other byte
 * of the file (comments, other users, order, quoting) is kept. The result is read back and must
 * hold the new values.
 */
export async function withRenewedCredentials(kc: Kubeconfig, certPem: string, keyPem: string, caPem: string | undefined): Promise<string> {
  const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
  const sets: { section: "users" | "clusters"; name: string; key: string; value: string }[] = [];
  if (kc.clientCertificate?.kind !== "file") sets.push({ section: "users", name: kc.userName, key: "client-certificate-data", value: b64(certPem) });
  if (kc.clientKey?.kind !== "file") sets.push({ section: "users", name: kc.userName, key: "client-key-data", value: b64(keyPem) });
  if (caPem !== undefined && kc.caPem !== undefined) sets.push({ section: "clusters", name: kc.clusterName, key: "certificate-authority-data", value: b64(caPem) });
  return setValues(kc, sets, "credentials");
}

/**
 * The kubeconfig text with new certificate-authority-data for the current cluster, replaced where
 * it stands; every other byte of the file is kept (a CA renewal changes nothing else).
 */
export async function withClusterCaData(kc: Kubeconfig, caPem: string): Promise<string> {
  return setValues(kc, [{ section: "clusters", name: kc.clusterName, key: "certificate-authority-data", value: Buffer.from(caPem, "utf8").toString("base64") }], "CA data");
}

/** Splices each value into the kubeconfig's text and checks the result reads back with them. */
async function setValues(kc: Kubeconfig, sets: { section: "users" | "clusters"; name: string; key: string; value: string }[], what: string): Promise<string> {
  const yaml = await loadYaml();
  // Loaded here, not on import: the editor needs the yaml library, which `status` does without.
  const { SourceEditor, appendToMap, findPair, replaceValue } = await import("../util/yaml-splice.js");
  const doc = yaml.parseDocument(kc.text);
  const ed = new SourceEditor(kc.text);
  for (const s of sets) {
    const map = namedNode(yaml, doc, s.section, s.name, kc.file);
    const pair = findPair(map, s.key);
    // Base64 is a plain scalar anywhere: no indicator, no blank, no ": " or " #".
    if (pair) replaceValue(ed, pair, s.value);
    else appendToMap(ed, map, s.key, s.value);
  }
  const out = ed.apply();
  const check = yaml.parseDocument(out);
  const ok = check.errors.length === 0 && sets.every((s) => namedNode(yaml, check, s.section, s.name, kc.file).get(s.key) === s.value);
  if (!ok) throw new RenewCertsError("INTERNAL", `could not put the new ${what} into ${kc.file} without reformatting it: renew it with kubeadm (kubeadm certs renew), or report this kubeconfig's shape`, { file: kc.file });
  return out;
}

/** Reads a kubeconfig the block reader declined, with the yaml library; its errors name the line. */
async function parseWithLibrary(text: string, file: string): Promise<unknown> {
  const doc = (await loadYaml()).parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new RenewCertsError("KUBECONFIG", `kubeconfig ${file} is not valid YAML${line ? ` (line ${line})` : ""}: restore it from a backup`, { file });
  }
  return doc.toJS();
}
