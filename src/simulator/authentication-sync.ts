// kube-apiserver's cluster authentication trust controller, as the API server double plays it:
// it merges the certificates of its --client-ca-file and --requestheader-client-ca-file, read
// anew each time (these files are re-read without a restart), into the ConfigMap
// kube-system/extension-apiserver-authentication, keeping the certificates already there and
// dropping only expired ones (k8s.io/kubernetes pkg/controlplane/controller/clusterauthenticationtrust:
// combineUniqueCertificates(existing, required), then filterExpiredCerts). Extension API servers and
// the controller-manager read their client CAs from it, and it is the proof that kube-apiserver
// re-read a renewed CA file.
import { X509Certificate, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { keyOf } from "./api-core.js";
import type { ObjectStore } from "./store.js";

/** The ConfigMap's place. */
export const AUTHENTICATION_CONFIGMAP = { namespace: "kube-system", name: "extension-apiserver-authentication" } as const;

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, in order, each with its DER (what they are compared by). */
function certificatesOf(pem: string): { pem: string; der: string; notAfter: number }[] {
  return (pem.match(PEM) ?? []).flatMap((p) => {
    try {
      const c = new X509Certificate(p);
      return [{ pem: `${p}\n`, der: c.raw.toString("base64"), notAfter: Date.parse(c.validTo) }];
    } catch {
      return [];
    }
  });
}

/** `existing` then `required`, each certificate once (by DER), without those expired at `now`. */
export function mergeBundles(existing: string, required: string, now: number): string {
  const seen = new Set<string>();
  return [...certificatesOf(existing), ...certificatesOf(required)]
    .filter((c) => c.notAfter > now && !seen.has(c.der) && (seen.add(c.der), true))
    .map((c) => c.pem).join("");
}

/** Flags of kube-apiserver the ConfigMap carries; the request-header lists as the JSON arrays the real one writes. */
export type ApiserverFlags = (name: string) => string | undefined;

/** Merges the files named by `flag` (paths under `root`) into the ConfigMap; stores it only when it changes. */
export function syncAuthentication(s: ObjectStore, root: string, flag: ApiserverFlags, now = Date.now()): void {
  const key = keyOf("configmaps", AUTHENTICATION_CONFIGMAP.namespace, AUTHENTICATION_CONFIGMAP.name);
  const cur = s.get(key);
  const data = { ...((cur?.["data"] as Record<string, string> | undefined) ?? {}) };
  const read = (f: string | undefined): string => {
    try {
      return f ? readFileSync(join(root, f), "utf8") : "";
    } catch {
      return ""; // a file being replaced: the next round reads it
    }
  };
  const list = (n: string): string => JSON.stringify((flag(n) ?? "").split(",").filter(Boolean));
  const client = mergeBundles(data["client-ca-file"] ?? "", read(flag("client-ca-file")), now);
  if (client) data["client-ca-file"] = client;
  if (flag("requestheader-client-ca-file")) {
    data["requestheader-client-ca-file"] = mergeBundles(data["requestheader-client-ca-file"] ?? "", read(flag("requestheader-client-ca-file")), now);
    data["requestheader-allowed-names"] = list("requestheader-allowed-names");
    data["requestheader-extra-headers-prefix"] = list("requestheader-extra-headers-prefix");
    data["requestheader-group-headers"] = list("requestheader-group-headers");
    data["requestheader-username-headers"] = list("requestheader-username-headers");
  }
  const metadata = cur?.metadata ?? { name: AUTHENTICATION_CONFIGMAP.name, namespace: AUTHENTICATION_CONFIGMAP.namespace, uid: randomUUID() };
  s.put(key, { apiVersion: "v1", kind: "ConfigMap", metadata, data }); // the store keeps an unchanged object as it is
}
