// The node runtime of a real host: the kubelet's journal (journalctl -u kubelet), `systemctl restart
// kubelet`, and the CRI through the crictl the host has. A missing tool is said once, with what to
// install; renew-certs never talks to containerd's socket behind the kubelet's back otherwise.
import { exec, type ExecResult } from "../host/systemd.js";
import { healthzEndpointOf, kubeletHealthz } from "./healthz.js";
import { RuntimeUnavailableError, type NodeRuntime, type RuntimeContainer } from "./runtime.js";

/** crictl ps -a -o json, as much as is read. */
interface CrictlList {
  containers?: { id: string; metadata?: { name?: string }; labels?: Record<string, string>; state?: string; createdAt?: string }[];
}

function need(r: ExecResult, what: string, install: string): ExecResult {
  if (r.status === 127) throw new RuntimeUnavailableError(`${what}: ${r.stderr.trim()} (${install})`);
  if (r.status !== 0) throw new RuntimeUnavailableError(`${what} failed (exit ${r.status}): ${r.stderr.trim().split("\n")[0] ?? ""}`);
  return r;
}

/** Parses `crictl ps -a -o json` (createdAt is in nanoseconds since the epoch). Pure. */
export function parseCrictlPs(json: string): RuntimeContainer[] {
  const list = JSON.parse(json) as CrictlList;
  return (list.containers ?? []).map((c) => ({
    id: c.id,
    pod: c.labels?.["io.kubernetes.pod.name"] ?? "",
    name: c.metadata?.name ?? c.labels?.["io.kubernetes.container.name"] ?? "",
    state: c.state === "CONTAINER_RUNNING" ? "running" as const : "exited" as const,
    createdAt: Math.floor(Number(c.createdAt ?? 0) / 1e6),
  }));
}

/** The host's kubelet and container runtime (only for --root /). */
export function hostRuntime(run: typeof exec = exec): NodeRuntime {
  return {
    name: "systemd and crictl",
    async kubeletHealth() {
      const h = await kubeletHealthz("/");
      if (h.ok) return { state: "running", detail: h.detail };
      const active = await run("systemctl", ["is-active", "kubelet"]);
      const unit = active.status === 127 ? undefined : active.stdout.trim() || "unknown";
      // healthz turned off in the kubelet's config, or slow to answer on a loaded host: systemd alone says whether it runs.
      if (h.slow || !(await healthzEndpointOf("/"))) {
        const runs = unit === "active" || unit === "activating" || unit === "reloading";
        return unit === undefined ? { state: "unknown", detail: h.detail } : { state: runs ? "running" : "down", detail: `kubelet.service is ${unit}; ${h.detail}` };
      }
      return { state: "down", detail: unit === undefined ? h.detail : `kubelet.service is ${unit}; ${h.detail}` };
    },
    async kubeletLog(sinceMs) {
      const r = await run("journalctl", ["-u", "kubelet", "--since", `@${Math.floor(sinceMs / 1000)}`, "-o", "cat", "--no-pager"]);
      return r.status === 0 ? r.stdout.split("\n").filter((l) => l !== "") : [];
    },
    async restartKubelet() {
      need(await run("systemctl", ["restart", "kubelet"]), "systemctl restart kubelet", "is kubelet.service installed?");
    },
    async containers() {
      return parseCrictlPs(need(await run("crictl", ["ps", "-a", "-o", "json"]), "crictl ps", "install cri-tools, or stop the container with the runtime's own tool").stdout);
    },
    async stopContainer(id) {
      need(await run("crictl", ["stop", id]), `crictl stop ${id}`, "install cri-tools, or stop the container with the runtime's own tool");
    },
  };
}
