// Test double of kube-controller-manager and kube-scheduler, run as its own process by the kubelet
// double. As kubeadm runs them (without --tls-cert-file or --cert-dir) they make a self-signed
// serving certificate in memory at every start (CN=localhost@<unix start>, valid one year) and
// answer /healthz on --bind-address:--secure-port once started (14–15 s on a real host). They
// read their kubeconfig, with its embedded client certificate, once at start and keep it: only a
// restart makes them use a renewed one, and they verify the API server with the kubeconfig's CA as
// read at start: past that certificate's NotAfter a NEW connection fails (Node's TLS, as Go's,
// checks the trust anchor's own validity), while a connection already open goes on. SIGTERM ends
// them at once. The controller-manager reads --root-ca-file once at start and, once serving,
// publishes it as kube-root-ca.crt in every namespace (root-ca-publisher.ts), and re-signs
// cluster-info's JWS entries when --controllers names bootstrapsigner (bootstrap-signer.ts);
// leader election is not played: it acts as soon as it serves.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { REAL_MS, scaled, type SimOptions } from "./timing.js";
import type { ComponentSpec } from "./spec.js";
import type { Endpoint } from "../manifests/manifest.js";
import type { ClientCredentials } from "../kube/credentials.js";

/** Runs the double for `spec` (componentSpec); resolves once /healthz answers. */
export async function serveController(spec: ComponentSpec, o: SimOptions): Promise<void> {
  const secure = spec.secure;
  if (!secure) throw new Error(`${spec.file}: not a component with a /healthz endpoint`);
  const healthy = spec.healthy;
  const kubeconfig = spec.flags["kubeconfig"];
  if (kubeconfig) readFileSync(join(spec.root, kubeconfig)); // loaded once; a missing one is fatal, as for the real ones
  const rootCaFile = spec.component === "kube-controller-manager" ? spec.flags["root-ca-file"] : undefined;
  const rootCa = rootCaFile ? readFileSync(join(spec.root, rootCaFile), "utf8") : undefined; // read once, at start
  const serving = spec.memoryCert;
  // The kubeconfig's credentials and CA are parsed while the process "starts": start-up time stays what it was.
  const [client] = await Promise.all([rootCa && kubeconfig ? apiClientOf(spec, kubeconfig) : undefined, new Promise((r) => setTimeout(r, scaled(o, REAL_MS.controllerStart)))]);
  const server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    if (req.url === "/healthz" || req.url === "/livez" || req.url === "/readyz") {
      res.writeHead(healthy ? 200 : 500, { "content-type": "text/plain" }).end(healthy ? "ok" : "[-]leaderElection failed: reason withheld\nhealthz check failed");
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(secure.port, secure.host, resolve);
  });
  if (client && rootCa) {
    const [{ startControllerLoop, publishRootCa }, { signClusterInfo }, { kubeClient }] =
      await Promise.all([import("./root-ca-publisher.js"), import("./bootstrap-signer.js"), import("../kube/client.js")]);
    const api = kubeClient(client.endpoint, client.credentials);
    const signer = (spec.flags["controllers"] ?? "*").split(",").includes("bootstrapsigner");
    startControllerLoop({
      rounds: { "publish kube-root-ca.crt": () => publishRootCa(api, rootCa), ...(signer ? { "sign cluster-info": () => signClusterInfo(api) } : {}) },
      periodMs: Math.max(250, scaled(o, REAL_MS.rootCaResync)), log: (l) => process.stderr.write(`${l}\n`),
    });
  }
}

/**
 * The API server the kubeconfig names, with its credentials and CA, read now. The port comes from
 * kube-apiserver's manifest: a sandbox moves the API server to a free port without rewriting the
 * kubeconfigs' server (the kubelet double finds it the same way).
 */
async function apiClientOf(spec: ComponentSpec, kubeconfig: string): Promise<{ endpoint: Endpoint; credentials: ClientCredentials }> {
  const [{ credentialsFromKubeconfig }, { localApiEndpoint }] = await Promise.all([import("../kube/credentials.js"), import("../kube/endpoint.js")]);
  return { credentials: await credentialsFromKubeconfig(join(spec.root, kubeconfig), spec.root), endpoint: await localApiEndpoint(spec.root) };
}
