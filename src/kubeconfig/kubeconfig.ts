import { isAbsolute, join, dirname } from "node:path";
import { parseDocument, isMap, isSeq, isScalar, visit, type Document, type YAMLMap } from "yaml";
import { RenewCertsError } from "../errors.js";
import { decodeBase64Field } from "../pki/pem.js";

/** Where a kubeconfig keeps one piece of PEM: inline (base64 `*-data`) or in a file. */
export type PemSource = { kind: "data"; pem: string } | { kind: "file"; path: string; hostPath: string };

/** A parsed kubeconfig, reduced to what certificate renewal needs, plus its YAML document. */
export interface Kubeconfig {
  file: string;
  doc: Document;
  currentContext: string;
  userName: string;
  clusterName: string;
  server: string | undefined;
  clientCertificate: PemSource | undefined;
  clientKey: PemSource | undefined;
  /** The CA in certificate-authority-data, when embedded. */
  caPem: string | undefined;
}

function named(doc: Document, section: string, name: string, file: string): YAMLMap {
  const seq = doc.get(section);
  if (!isSeq(seq)) throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: missing ${section}: restore it from a backup`, { file });
  for (const item of seq.items) {
    if (isMap(item) && item.get("name") === name) {
      const inner = item.get(section.slice(0, -1));
      if (isMap(inner)) return inner;
    }
  }
  throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: missing ${section.slice(0, -1)} ${name}: restore it from a backup`, { file });
}

// A kubeconfig is mostly long base64 scalars, and the YAML lexer reads them a character at a time:
// they are set aside before parsing (same line, so error line numbers hold) and put back after.
const LONG_PLAIN_BASE64 = /^([ \t]*(?:- )?[A-Za-z0-9_.-]+:[ \t]+)([A-Za-z0-9+/]{64,}={0,2})[ \t]*$/gm;
const PLACEHOLDER = /^__renew_certs_long_scalar_(\d+)__$/;

/** Parses YAML like parseDocument, faster for documents made of long base64 lines. */
export function parseKubeconfigDocument(text: string): Document {
  const values: string[] = [];
  const shielded = text.replace(LONG_PLAIN_BASE64, (_m, head: string, value: string) => `${head}__renew_certs_long_scalar_${values.push(value) - 1}__`);
  const doc = parseDocument(shielded, { keepSourceTokens: false });
  if (values.length > 0) {
    visit(doc, {
      Scalar(_key, node) {
        const m = typeof node.value === "string" ? PLACEHOLDER.exec(node.value) : null;
        if (m && isScalar(node)) node.value = values[Number(m[1])];
      },
    });
  }
  return doc;
}

/**
 * Parses kubeconfig `text` read from `file`. `root` resolves absolute file references
 * (client-certificate: /var/lib/…) under --root; relative ones resolve beside the kubeconfig.
 */
export function parseKubeconfig(text: string, file: string, root = "/"): Kubeconfig {
  const doc = parseKubeconfigDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new RenewCertsError("KUBECONFIG", `kubeconfig ${file} is not valid YAML${line ? ` (line ${line})` : ""}: restore it from a backup`, { file });
  }
  if (!isMap(doc.contents)) {
    throw new RenewCertsError("KUBECONFIG", `kubeconfig ${file} is not a kubeconfig (expected a YAML mapping with clusters, users and contexts): restore it from a backup`, { file });
  }
  const currentContext = doc.get("current-context");
  if (typeof currentContext !== "string" || currentContext === "") {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: no current-context: restore it from a backup`, { file });
  }
  const context = named(doc, "contexts", currentContext, file);
  const userName = context.get("user");
  const clusterName = context.get("cluster");
  if (typeof userName !== "string" || userName === "") {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: context ${currentContext} names no user: restore it from a backup`, { file });
  }
  if (typeof clusterName !== "string" || clusterName === "") {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: context ${currentContext} names no cluster: restore it from a backup`, { file });
  }
  const user = named(doc, "users", userName, file);
  const cluster = named(doc, "clusters", clusterName, file);
  const source = (dataKey: string, fileKey: string): PemSource | undefined => {
    const data = user.get(dataKey);
    if (data !== undefined && data !== null) return { kind: "data", pem: decodeBase64Field(data, `${file} (users[${userName}].user.${dataKey})`) };
    const ref = user.get(fileKey);
    if (typeof ref === "string" && ref !== "") {
      return { kind: "file", path: ref, hostPath: isAbsolute(ref) ? join(root, ref) : join(dirname(file), ref) };
    }
    return undefined;
  };
  const caData = cluster.get("certificate-authority-data");
  const server = cluster.get("server");
  return {
    file,
    doc,
    currentContext,
    userName,
    clusterName,
    server: typeof server === "string" ? server : undefined,
    clientCertificate: source("client-certificate-data", "client-certificate"),
    clientKey: source("client-key-data", "client-key"),
    caPem: caData === undefined || caData === null ? undefined : decodeBase64Field(caData, `${file} (clusters[${clusterName}].cluster.certificate-authority-data)`),
  };
}

/**
 * The kubeconfig text with new embedded client certificate, key and CA for the current user
 * and cluster; every other node of the document (comments, other users, order) is kept.
 */
export function withRenewedCredentials(kc: Kubeconfig, certPem: string, keyPem: string, caPem: string | undefined): string {
  const doc = kc.doc.clone();
  const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
  const user = named(doc, "users", kc.userName, kc.file);
  if (kc.clientCertificate?.kind !== "file") user.set("client-certificate-data", b64(certPem));
  if (kc.clientKey?.kind !== "file") user.set("client-key-data", b64(keyPem));
  if (caPem !== undefined && kc.caPem !== undefined) {
    named(doc, "clusters", kc.clusterName, kc.file).set("certificate-authority-data", b64(caPem));
  }
  return doc.toString({ lineWidth: 0, indentSeq: false });
}
