// Whether the kubelet runs: its healthz endpoint, plain HTTP on the loopback (127.0.0.1:10248 by
// default; healthzBindAddress and healthzPort in the KubeletConfiguration kubeadm writes to
// /var/lib/kubelet/config.yaml). It answers "ok" as long as the kubelet's sync loop runs, whether
// or not the kubelet reaches the API server: a kubelet cut off from an expired control plane still
// answers, a stopped one does not.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { request } from "node:http";
import { parse } from "yaml";

/** The kubelet's configuration file kubeadm writes, relative to the root. */
export const KUBELET_CONFIG = "var/lib/kubelet/config.yaml";
/** The kubelet's defaults (KubeletConfiguration v1beta1). */
export const DEFAULT_HEALTHZ = { host: "127.0.0.1", port: 10248 } as const;

/** Where the kubelet under `root` answers healthz; undefined when its config turns healthz off (healthzPort: 0). */
export async function healthzEndpointOf(root: string): Promise<{ host: string; port: number } | undefined> {
  const text = await readFile(join(root, KUBELET_CONFIG), "utf8").catch(() => undefined);
  let doc: { healthzBindAddress?: unknown; healthzPort?: unknown } = {};
  try {
    const parsed: unknown = text === undefined ? undefined : parse(text);
    if (parsed && typeof parsed === "object") doc = parsed as typeof doc;
  } catch {
    // A config the kubelet itself could not read: the defaults are the best guess, and the probe says the rest.
  }
  const port = typeof doc.healthzPort === "number" ? doc.healthzPort : DEFAULT_HEALTHZ.port;
  if (port === 0) return undefined;
  const bind = typeof doc.healthzBindAddress === "string" && doc.healthzBindAddress !== "" ? doc.healthzBindAddress : DEFAULT_HEALTHZ.host;
  // A wildcard bind answers on the loopback too.
  const host = bind === "0.0.0.0" ? "127.0.0.1" : bind === "::" ? "::1" : bind;
  return { host, port };
}

/**
 * What one GET of healthz found: ok only for 200 "ok"; `slow` when something accepted the
 * connection but did not answer in time, or dropped it (a kubelet that runs on a busy host, or
 * restarts, not a stopped one).
 */
export interface HealthzResult {
  ok: boolean;
  slow?: true;
  /** What answered, or did not: "http://127.0.0.1:10248/healthz: connection refused". */
  detail: string;
}

/** One GET of http://host:port/healthz (see HealthzResult). */
export function getHealthz(at: { host: string; port: number }, timeoutMs: number): Promise<HealthzResult> {
  const url = `http://${at.host.includes(":") ? `[${at.host}]` : at.host}:${at.port}/healthz`;
  return new Promise((resolve) => {
    const req = request({ host: at.host, port: at.port, path: "/healthz", method: "GET", timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { body = (body + c).slice(0, 200); });
      res.on("end", () => {
        const ok = res.statusCode === 200 && body.trim() === "ok";
        resolve({ ok, detail: ok ? `${url} answered ok` : `${url} answered ${res.statusCode ?? 0} ${JSON.stringify(body.trim())}` });
      });
    });
    req.on("timeout", () => {
      resolve({ ok: false, slow: true, detail: `${url}: accepts connections but did not answer within ${timeoutMs / 1000} s` });
      req.destroy();
    });
    // Only "connection refused" says that nothing listens; a connection reset or hung up is a busy or restarting kubelet.
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED" ? { ok: false, detail: `${url}: connection refused` } : { ok: false, slow: true, detail: `${url}: ${e.message}` }));
    req.end();
  });
}

/**
 * Asks the kubelet under `root` for its healthz until it answers ok or `withinMs` has passed
 * (a kubelet restarting at this moment answers again within a second or two).
 */
export async function kubeletHealthz(root: string, o: { withinMs?: number; timeoutMs?: number; sleep?: (ms: number) => Promise<void> } = {}): Promise<HealthzResult> {
  const at = await healthzEndpointOf(root);
  if (!at) return { ok: false, detail: `healthz is turned off (healthzPort: 0 in ${join(root, KUBELET_CONFIG)})` };
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (o.withinMs ?? 3000);
  for (;;) {
    const r = await getHealthz(at, o.timeoutMs ?? 2000);
    if (r.ok || Date.now() >= deadline) return r;
    await sleep(500);
  }
}
