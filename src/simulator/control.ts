// The kubelet double's control endpoint: what `systemctl restart kubelet` and crictl are on a host,
// for a renew-certs process run against the sandbox (src/kubelet/sandbox-runtime.ts). An HTTP server
// on the loopback; its address goes to run/kubelet-double/endpoint under the root.
import { createServer } from "node:http";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AddressInfo } from "node:net";
import { CONTROL_FILE } from "../kubelet/sandbox-runtime.js";
import type { ContainerInfo } from "./kubelet.js";

/** What the endpoint acts on. */
export interface Controllable {
  restart(): Promise<void>;
  containers(): ContainerInfo[];
  stopContainer(id: string): Promise<boolean>;
}

/** Serves the control endpoint of `kubelet` for `root`; returns its closer. */
export async function serveControl(root: string, kubelet: Controllable): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const url = req.url ?? "/";
    const stop = /^\/containers\/([^/]+)\/stop$/.exec(url);
    req.resume();
    void (async () => {
      if (req.method === "POST" && url === "/restart") return send(200, (await kubelet.restart(), { restarted: true }));
      if (req.method === "GET" && url === "/containers") {
        return send(200, kubelet.containers().map((c) => ({ id: c.id, pod: c.pod, name: c.component, state: c.state, createdAt: c.createdAt })));
      }
      if (req.method === "POST" && stop) return (await kubelet.stopContainer(decodeURIComponent(stop[1]!))) ? send(200, { stopped: true }) : send(404, { error: "no such container" });
      return send(404, { error: `no ${req.method ?? ""} ${url}` });
    })().catch((e: unknown) => send(500, { error: String(e) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const file = join(root, CONTROL_FILE);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `127.0.0.1:${(server.address() as AddressInfo).port}\n`);
  return async () => {
    await rm(file, { force: true });
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
}
