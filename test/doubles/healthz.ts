// Test double of kube-controller-manager and kube-scheduler: a process that, like them, makes a
// fresh self-signed serving certificate at every start and answers /healthz on --secure-port.
import { createServer, type Server } from "node:https";
import { generateKey, privateKeyPem } from "../../src/pki/keys.js";
import { issueCertificate } from "../../src/pki/sign.js";
import { leafExtensions } from "../../src/pki/profile.js";
import { readManifest } from "../../src/manifests/manifest.js";
import { spawnComponent, type Behaviour, type RunningComponent } from "./process.js";

/** Serves the /healthz test double for the manifest `file`. */
export async function serveHealthz(file: string, behaviour: Behaviour): Promise<Server> {
  const m = await readManifest(file);
  if (!m.secureEndpoint) throw new Error(`${file}: not a component with a /healthz endpoint`);
  const key = await generateKey({ type: "ec", curve: "P-256" });
  const now = Date.now();
  const cert = await issueCertificate({
    subject: `CN=localhost@${Math.floor(now / 1000)}`, key, notBefore: new Date(now - 60_000), notAfter: new Date(now + 365 * 86_400_000),
    extensions: leafExtensions({ subject: "", usages: ["serverAuth"], dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }, "ec"),
  });
  const server = createServer({ cert, key: privateKeyPem(key) }, (req, res) => {
    if (req.url === "/healthz") {
      const ok = behaviour === "healthy";
      res.writeHead(ok ? 200 : 500, { "content-type": "text/plain" }).end(ok ? "ok" : "[-]leaderElection failed: reason withheld\nhealthz check failed");
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(m.secureEndpoint!.port, m.secureEndpoint!.host, resolve);
  });
  return server;
}

/** Starts the /healthz test double as a child process for the manifest `file`. */
export function startHealthzDouble(root: string, file: string, behaviour: Behaviour = "healthy"): RunningComponent {
  return spawnComponent("healthz", root, file, behaviour);
}
