// Test double of kube-controller-manager and kube-scheduler, run as its own process by the kubelet
// double. As kubeadm runs them (without --tls-cert-file or --cert-dir) they make a self-signed
// serving certificate in memory at every start (CN=localhost@<unix start>, valid one year) and
// answer /healthz on --bind-address:--secure-port once started (14–15 s on a real host). They
// read their kubeconfig, with its embedded client certificate, once at start and keep it: only a
// restart makes them use a renewed one. SIGTERM ends them at once.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { REAL_MS, scaled, type SimOptions } from "./timing.js";
import type { ComponentSpec } from "./spec.js";

/** Runs the double for `spec` (componentSpec); resolves once /healthz answers. */
export async function serveController(spec: ComponentSpec, o: SimOptions): Promise<void> {
  const secure = spec.secure;
  if (!secure) throw new Error(`${spec.file}: not a component with a /healthz endpoint`);
  const healthy = spec.healthy;
  const kubeconfig = spec.flags["kubeconfig"];
  if (kubeconfig) readFileSync(join(spec.root, kubeconfig)); // loaded once; a missing one is fatal, as for the real ones
  const serving = spec.memoryCert;
  await new Promise((r) => setTimeout(r, scaled(o, REAL_MS.controllerStart)));
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
}
