// The kube-apiserver test double (src/simulator/apiserver.ts) in the test's own process, for tests
// of the Kubernetes API calls (Leases, Events, Pods): the tests seed and read its objects directly.
import type { TestContext } from "node:test";
import { join } from "node:path";
import { readManifest } from "../../src/manifests/manifest.js";
import { startApiserver } from "../../src/simulator/apiserver.js";
import { componentSpec } from "../../src/simulator/spec.js";
import type { KubeObject } from "../../src/simulator/store.js";
import { onCleanup } from "./cleanup.js";
import { TEST_SIM } from "./simulated.js";

/** A running API server double and its objects. */
export interface ApiDouble {
  port: number;
  state: {
    leases: { get(name: string): KubeObject | undefined; set(name: string, lease: KubeObject): void; readonly size: number };
    readonly events: KubeObject[];
    pods: { push(...pods: { metadata: { name: string; namespace: string; [k: string]: unknown }; [k: string]: unknown }[]): void; clear(): void };
    /** Node objects, by name. */
    nodes: { get(name: string): KubeObject | undefined; put(node: KubeObject): void; delete(name: string): void };
    /** "METHOD path" of every request. */
    requests: string[];
  };
}

/** Starts the double for the sandbox under `root` on `port` (default: the manifest's; 0: any). */
export async function startApiDouble(t: TestContext, root: string, port?: number): Promise<ApiDouble> {
  const m = await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"));
  const spec = await componentSpec(root, m, true, TEST_SIM);
  if (port !== undefined) spec.advertise = { ...spec.advertise, port };
  const requests: string[] = [];
  const api = await startApiserver(spec, { sim: { ...TEST_SIM, timeScale: 0 }, onRequest: (l) => requests.push(l) });
  onCleanup(t, () => api.close());
  const s = api.store;
  return {
    port: api.port,
    state: {
      leases: {
        get: (name) => s.get(`leases/kube-system/${name}`),
        set: (name, lease) => void s.put(`leases/kube-system/${name}`, lease),
        get size() { return s.list("leases/").length; },
      },
      get events() { return s.list("events/"); },
      pods: {
        push: (...pods) => { for (const p of pods) s.put(`pods/${p.metadata.namespace}/${p.metadata.name}`, p as KubeObject); },
        clear: () => { for (const p of s.list("pods/")) s.delete(`pods/${String(p.metadata.namespace)}/${p.metadata.name}`); },
      },
      nodes: { get: (name) => s.get(`nodes/${name}`), put: (node) => void s.put(`nodes/${node.metadata.name}`, node), delete: (name) => void s.delete(`nodes/${name}`) },
      requests,
    },
  };
}
