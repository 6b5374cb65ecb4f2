// A kubeconfig's client credentials, as every call renew-certs makes to the API server uses them.
import { join } from "node:path";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";
import { RenewCertsError } from "../errors.js";
import { readText } from "../util/fs.js";
import { LAYOUT } from "../inventory/catalog.js";

/** PEM client credentials and the CA that verifies the server (from a kubeconfig). */
export interface ClientCredentials {
  /** The client certificate and key; both "" for a kubeconfig that authenticates with a token. */
  certPem: string;
  keyPem: string;
  caPem: string;
  /** A bearer token (a workstation's kubeconfig), sent instead of a client certificate. */
  token?: string;
}

/**
 * The client credentials and CA of a kubeconfig (admin.conf), embedded or in files (absolute
 * paths resolve under `root`). Without a CA in the kubeconfig, pki/ca.crt under `root` is used.
 */
export async function credentialsFromKubeconfig(file: string, root = "/"): Promise<ClientCredentials> {
  const kc = await parseKubeconfig(await readText(file, "kubeconfig"), file, root);
  const pem = async (src: typeof kc.clientCertificate, what: string): Promise<string> => {
    if (!src) throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: user ${kc.userName} has no ${what}: restore it from a backup`, { file });
    return src.kind === "data" ? src.pem : readText(src.hostPath, what);
  };
  let caPem = kc.caPem;
  if (caPem === undefined) {
    caPem = await readText(kc.caFile ?? join(root, LAYOUT.pkiDir, "ca.crt"), "CA certificate");
  }
  return { certPem: await pem(kc.clientCertificate, "client certificate"), keyPem: await pem(kc.clientKey, "client key"), caPem };
}
