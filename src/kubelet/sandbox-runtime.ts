// The node runtime of a sandbox run by the kubelet double: its log file (var/log/kubelet.log, what
// the journal of kubelet.service holds on a host) and its control endpoint, an HTTP server on the
// loopback whose address the double writes to run/kubelet-double/endpoint under the root.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { request } from "node:http";
import { kubeletHealthz } from "./healthz.js";
import { RuntimeUnavailableError, type NodeRuntime, type RuntimeContainer } from "./runtime.js";

/** Where the kubelet double writes its control endpoint ("127.0.0.1:PORT"), relative to the root. */
export const CONTROL_FILE = "run/kubelet-double/endpoint";
/** The kubelet double's log, relative to the root. */
export const KUBELET_LOG = "var/log/kubelet.log";

/** klog's time at the start of a line ("I1202 00:52:09.123456"), as epoch ms of `year`. */
function klogMs(line: string, year: number): number | undefined {
  const m = /^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  return m ? Date.UTC(year, Number(m[1]) - 1, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : undefined;
}

async function call(root: string, method: string, path: string): Promise<string> {
  const endpoint = (await readFile(join(root, CONTROL_FILE), "utf8").catch(() => "")).trim();
  const [host, port] = endpoint.split(":");
  if (!host || !port) throw new RuntimeUnavailableError(`no kubelet double runs under ${root} (${join(root, CONTROL_FILE)} is missing)`);
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), method, path, timeout: 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new RuntimeUnavailableError(`the kubelet double answered ${res.statusCode ?? 0} to ${method} ${path}`))));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => reject(new RuntimeUnavailableError(`the kubelet double at ${endpoint} does not answer: ${e.message}`)));
    req.end();
  });
}

/** The kubelet double under `root`. */
export function sandboxRuntime(root: string): NodeRuntime {
  return {
    name: "the kubelet double",
    async kubeletHealth() {
      // The double serves its healthz where the sandbox's kubelet config says, as the real one.
      const h = await kubeletHealthz(root);
      // Something listens but is slow to answer (a loaded host): not a stopped kubelet.
      return { state: h.ok ? "running" : h.slow ? "unknown" : "down", detail: h.detail };
    },
    async kubeletLog(sinceMs) {
      const text = await readFile(join(root, KUBELET_LOG), "utf8").catch(() => "");
      const year = new Date(sinceMs).getUTCFullYear();
      return text.split("\n").filter((l) => l !== "" && (klogMs(l, year) ?? 0) >= sinceMs - 1000);
    },
    async restartKubelet() {
      await call(root, "POST", "/restart");
    },
    async containers() {
      return JSON.parse(await call(root, "GET", "/containers")) as RuntimeContainer[];
    },
    async stopContainer(id) {
      await call(root, "POST", `/containers/${encodeURIComponent(id)}/stop`);
    },
  };
}
