// Test double of kube-apiserver: just enough of it to prove a restart. It runs as its own process
// (see component-main.ts), loads --tls-cert-file/--tls-private-key-file once at start, as the real
// one does, requires client certificates signed by --client-ca-file and answers /livez.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import { readManifest } from "../../src/manifests/manifest.js";
import { spawnComponent, type Behaviour, type RunningComponent } from "./process.js";

/** Serves the API server test double for the manifest `file` (paths in its flags resolve under `root`). */
export async function serveApiserver(root: string, file: string, behaviour: Behaviour): Promise<Server> {
  const m = await readManifest(file);
  const flag = (name: string): string => {
    const v = m.flags.get(name);
    if (!v) throw new Error(`${file}: no --${name}`);
    return join(root, v);
  };
  const server = createServer({
    cert: readFileSync(flag("tls-cert-file")),
    key: readFileSync(flag("tls-private-key-file")),
    ca: readFileSync(flag("client-ca-file")),
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => {
    if (req.url === "/livez" || req.url === "/readyz" || req.url === "/healthz") {
      const ok = behaviour === "healthy";
      res.writeHead(ok ? 200 : 500, { "content-type": "text/plain" }).end(ok ? "ok" : "[-]etcd failed: reason withheld\nlivez check failed");
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(m.advertiseEndpoint.port, m.advertiseEndpoint.host, resolve);
  });
  return server;
}

/** Starts the API server test double as a child process for the manifest `file`. */
export function startApiserverDouble(root: string, file: string, behaviour: Behaviour = "healthy"): RunningComponent {
  return spawnComponent("apiserver", root, file, behaviour);
}
