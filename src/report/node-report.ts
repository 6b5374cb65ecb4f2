// A host's report on its own Node (annotations.ts says what it holds), written at the end of every
// run, by the control-plane job and the worker job alike. It is written as `kubectl annotate` does:
// one JSON merge patch of /api/v1/nodes/NAME, with the credentials the host already has:
// - a control-plane host uses admin.conf;
// - a worker uses the kubelet's own credentials (kubelet.conf: CN=system:node:NAME, O=system:nodes).
//   The node authorizer allows a node to patch Nodes and NodeRestriction limits it to its own, and
//   checks only its labels and taints there, never its annotations
//   (plugin/pkg/admission/noderestriction/admission.go, admitNode: `node %q is not allowed to modify
//   node %q`; getForbiddenLabels; plugin/pkg/auth/authorizer/node/node_authorizer.go, authorizeNode:
//   "Use the NodeRestriction admission plugin to limit a node to creating/updating its own API
//   object"). So renew-certs writes annotations only, never a label.
// A report that cannot be written is a warning (a debug line when no API server answers at all): it
// never changes the run's exit code.
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { LAYOUT } from "../inventory/catalog.js";
import type { Logger } from "../log/logger.js";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";
import { ApiError, ApiUnreachableError, kubeClient, type KubeClient } from "../kube/client.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { localApiEndpoint } from "../kube/endpoint.js";
import { endpointOfServer } from "./connect.js";
import { version } from "../cli/run-main.js";
import { reportAnnotations, type NodeReport, type NodeRole } from "./annotations.js";
import { oldCaCount } from "./cluster-read.js";

/** The kubelet's current client certificate (certificate and key in one file: only the certificate is read). */
export const KUBELET_CLIENT_FILE = "var/lib/kubelet/pki/kubelet-client-current.pem";

const FIRST_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;

/** The first certificate of a PEM text, or undefined: keys in the same text are never parsed nor kept. */
function firstCertificate(pem: string | undefined): X509Certificate | undefined {
  const block = pem === undefined ? undefined : FIRST_CERT.exec(pem)?.[0];
  try {
    return block ? new X509Certificate(block) : undefined;
  } catch {
    return undefined;
  }
}

/** The facts of a report that are read from the host's files (absent when a file is absent or unreadable). */
export async function hostFacts(root: string, leaves: { name: string; notAfter: Date }[] = []): Promise<Pick<NodeReport, "oldest" | "caFingerprint" | "kubeconfigCaFingerprint" | "kubeletClientExpiry">> {
  const text = (p: string): Promise<string | undefined> => readFile(join(root, p), "utf8").catch(() => undefined);
  const ca = firstCertificate(await text(join(LAYOUT.pkiDir, "ca.crt")));
  const kubeletConf = join(root, LAYOUT.kubernetesDir, "kubelet.conf");
  const kc = await text(join(LAYOUT.kubernetesDir, "kubelet.conf")).then((t) => (t === undefined ? undefined : parseKubeconfig(t, kubeletConf, root))).catch(() => undefined);
  const kubeconfigCa = firstCertificate(kc?.caPem);
  const kubelet = firstCertificate(await text(KUBELET_CLIENT_FILE));
  const all = [...leaves, ...(kubelet ? [{ name: "kubelet-client-current", notAfter: new Date(kubelet.validTo) }] : [])];
  const oldest = all.reduce<(typeof all)[number] | undefined>((o, l) => (!o || l.notAfter < o.notAfter ? l : o), undefined);
  return {
    ...(oldest ? { oldest } : {}),
    ...(ca ? { caFingerprint: ca.fingerprint256 } : {}),
    ...(kubeconfigCa ? { kubeconfigCaFingerprint: kubeconfigCa.fingerprint256 } : {}),
    ...(kubelet ? { kubeletClientExpiry: new Date(kubelet.validTo) } : {}),
  };
}

/** The client a host reports with: admin.conf on a control plane (its local API server), the kubelet's kubelet.conf on a worker. */
export async function reportClient(root: string, role: NodeRole, timeoutMs = 3000): Promise<KubeClient> {
  if (role === "control-plane") {
    const creds = await credentialsFromKubeconfig(join(root, LAYOUT.kubernetesDir, "admin.conf"), root);
    return kubeClient(await localApiEndpoint(root), creds, timeoutMs);
  }
  const file = join(root, LAYOUT.kubernetesDir, "kubelet.conf");
  const kc = await parseKubeconfig(await readFile(file, "utf8"), file, root);
  return kubeClient(endpointOfServer(kc.server, file), await credentialsFromKubeconfig(file, root), timeoutMs);
}

/** Options of writeNodeReport. */
export interface WriteReportOptions {
  root: string;
  nodeName: string;
  role: NodeRole;
  /** The run's exit code. */
  exitCode: number;
  /** When the run ended. */
  now: Date;
  log: Logger;
  /** The leaves renew-certs keeps on this host (the control plane's inventory, kubeconfigs included). */
  leaves?: { name: string; notAfter: Date }[];
  /** The client (default: reportClient's). */
  client?: KubeClient;
}

/** What became of a report. */
export type ReportOutcome = "written" | "no-node" | "failed";

/** Writes this host's report on its Node (see the top of this file); never throws. */
export async function writeNodeReport(o: WriteReportOptions): Promise<ReportOutcome> {
  try {
    const report: NodeReport = { version: version(), role: o.role, lastRun: o.now, exitCode: o.exitCode, ...(await hostFacts(o.root, o.leaves)) };
    const client = o.client ?? (await reportClient(o.root, o.role));
    await client.patch(`/api/v1/nodes/${encodeURIComponent(o.nodeName)}`, { metadata: { annotations: reportAnnotations(report) } });
    o.log.debug("report written on the Node", { node: o.nodeName });
    return "written";
  } catch (e) {
    // A host that is no Node of the cluster (a sandbox, a host not joined yet) has nowhere to report.
    if (e instanceof ApiError && e.status === 404) {
      o.log.debug(`no Node ${o.nodeName} in the cluster: nothing reported`, { node: o.nodeName });
      return "no-node";
    }
    // No API server to reach (a sandbox without its doubles, a host whose API server is down): the
    // run's own checks say more about that than a report could; doctor checks the API server.
    if (e instanceof ApiUnreachableError) {
      o.log.debug(`the API server is not reachable: this run's report on Node ${o.nodeName} is not written: ${e.message}`, { node: o.nodeName });
      return "failed";
    }
    o.log.warn(`could not write this run's report on Node ${o.nodeName} (the run's result stands): ${(e as Error).message}`, { node: o.nodeName });
    return "failed";
  }
}

// The end of a control-plane run, towards the cluster: this host's report, then the count of Nodes
// that still hold a CA certificate other than the current one, for the metrics file (a debug line
// when they cannot be listed).
/** What the metrics file gets from the cluster: the Nodes on an old CA and the CA deadline (unix time in the file). */
export interface ClusterMetrics {
  oldCaNodes: number;
  deadline: Date;
}

/** Writes this control plane's report and counts the Nodes on an old CA (undefined when they cannot be listed). */
export async function reportControlPlaneRun(o: {
  root: string; nodeName: string; exitCode: number; now: Date; log: Logger; leaves: { name: string; notAfter: Date }[];
}): Promise<ClusterMetrics | undefined> {
  const client = await reportClient(o.root, "control-plane").catch((e: unknown) => {
    o.log.warn(`could not write this run's report on Node ${o.nodeName} (the run's result stands): ${(e as Error).message}`);
    return undefined;
  });
  if (!client) return undefined;
  // No API server to answer the report (or one that refused it): none to list the Nodes either.
  if ((await writeNodeReport({ ...o, role: "control-plane", client })) === "failed") return undefined;
  try {
    const counted = await oldCaCount(o.root, client, o.now);
    return counted ? { oldCaNodes: counted.oldCa, deadline: counted.deadline } : undefined;
  } catch (e) {
    o.log.debug(`could not count the Nodes on an old CA: ${(e as Error).message}`);
    return undefined;
  }
}
