// How `status --cluster` and a worker's report reach the API server: the server and credentials of
// a kubeconfig (admin.conf under --root, kubelet.conf, or a workstation's own kubeconfig with a
// client certificate or a bearer token).
import { join } from "node:path";
import { LAYOUT } from "../inventory/catalog.js";
import { RenewCertsError } from "../errors.js";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";
import { kubeClient, type KubeClient } from "../kube/client.js";
import { credentialsFromKubeconfig, type ClientCredentials } from "../kube/credentials.js";
import { localApiEndpoint } from "../kube/endpoint.js";
import type { Endpoint } from "../manifests/manifest.js";
import { readText } from "../util/fs.js";

/** The host and port of a kubeconfig's server URL ("https://10.0.0.1:6443", "https://[::1]:6443"); throws naming `file`. */
export function endpointOfServer(server: string | undefined, file: string): Endpoint {
  let url: URL | undefined;
  try {
    url = server ? new URL(server) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== "https:" || !url.hostname) {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: its cluster's server is not an https URL (${server ?? "missing"}): fix the server field`, { file });
  }
  return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: url.port ? Number(url.port) : 443 };
}

/** A connection to the cluster: the client, and the CA certificate (PEM) that the kubeconfig trusts. */
export interface ClusterConnection {
  client: KubeClient;
  caPem: string;
  /** The kubeconfig used. */
  file: string;
}

/**
 * Connects with `kubeconfig`, or with admin.conf under `root` through this host's API server
 * (as `run` does). A kubeconfig with a token and no client certificate sends the token.
 */
export async function connectCluster(o: { root: string; kubeconfig?: string; timeoutMs?: number }): Promise<ClusterConnection> {
  const file = o.kubeconfig ?? join(o.root, LAYOUT.kubernetesDir, "admin.conf");
  const kc = await parseKubeconfig(await readText(file, "kubeconfig"), file, o.root);
  let creds: ClientCredentials;
  if (!kc.clientCertificate && kc.token) {
    const caPem = kc.caPem ?? (kc.caFile ? await readText(kc.caFile, "CA certificate") : undefined);
    if (caPem === undefined) throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: cluster ${kc.clusterName} names no CA (certificate-authority-data): add it`, { file });
    creds = { certPem: "", keyPem: "", caPem, token: kc.token };
  } else if (!kc.clientCertificate) {
    throw new RenewCertsError("KUBECONFIG", `kubeconfig ${file}: user ${kc.userName} has neither a client certificate nor a token (exec plugins and auth providers are not supported): use one that has, such as a copy of admin.conf`, { file });
  } else {
    creds = await credentialsFromKubeconfig(file, o.root);
  }
  const endpoint = o.kubeconfig ? endpointOfServer(kc.server, file) : await localApiEndpoint(o.root);
  return { client: kubeClient(endpoint, creds, o.timeoutMs ?? 5000), caPem: creds.caPem, file };
}
