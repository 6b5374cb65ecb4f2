import { join } from "node:path";
import type { Settings } from "../config/settings.js";
import type { Logger } from "../log/logger.js";
import { LAYOUT } from "../inventory/catalog.js";
import { parseEndpoint, ENDPOINT_ANNOTATION, type Endpoint } from "../manifests/manifest.js";
import { credentialsFromKubeconfig, type ClientCredentials } from "../kube/credentials.js";
import { httpsGet } from "../kube/tls.js";
import { realClock, type Clock } from "../run/wait.js";
import type { Coordinator } from "../run/coordinator.js";
import { exists } from "../util/fs.js";
import { RenewCertsError } from "../errors.js";
import { ApiError, ApiUnreachableError, kubeClient, type KubeClient } from "../kube/client.js";
import { localApiEndpoint } from "../kube/endpoint.js";
import { acquireLease, LEASE_NAME } from "./lease.js";
import { recordEvent } from "./events.js";

/** Options of the coordinator that talks to the cluster. */
export interface KubeCoordinatorOptions {
  root: string;
  settings: Pick<Settings, "nodeName" | "healthTimeoutSeconds" | "leaseWaitSeconds" | "manifests">;
  log: Logger;
  /** Wall clock (Lease times are wall-clock); default the real one. */
  clock?: Clock;
  /** Makes a client; tests point it at the API server test double. */
  connect?: (endpoint: Endpoint, creds: ClientCredentials) => KubeClient;
  retryMs?: number;
}

interface PodList {
  items: { metadata: { name: string; annotations?: Record<string, string> }; spec?: { nodeName?: string } }[];
}

/**
 * One host at a time, through the local API server with the renewed admin.conf (super-admin.conf
 * when admin.conf may not touch Leases). API unreachable (expired certificates, a single node):
 * a warning, and the run proceeds without the lease.
 */
export function kubeCoordinator(o: KubeCoordinatorOptions): Coordinator {
  const clock = o.clock ?? { now: () => Date.now(), sleep: realClock.sleep };
  const connect = o.connect ?? ((e, c) => kubeClient(e, c));
  let client: KubeClient | undefined;
  const ensureClient = async (kubeconfig = "admin.conf"): Promise<{ client: KubeClient; creds: ClientCredentials }> => {
    const creds = await credentialsFromKubeconfig(join(o.root, LAYOUT.kubernetesDir, kubeconfig), o.root);
    client = connect(await localApiEndpoint(o.root), creds);
    return { client, creds };
  };
  const othersUnhealthy = (c: KubeClient, creds: ClientCredentials) => async (): Promise<string | undefined> => {
    const pods = await c.get<PodList>("/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-apiserver");
    const bad: string[] = [];
    for (const p of pods.items) {
      if (p.spec?.nodeName === o.settings.nodeName) continue;
      const endpoint = parseEndpoint(p.metadata.annotations?.[ENDPOINT_ANNOTATION] ?? "");
      if (!endpoint) continue;
      const r = await httpsGet({ endpoint, path: "/livez", verify: false, credentials: creds, timeoutMs: 3000 }).catch((e: unknown) => ({ status: 0, body: (e as Error).message }));
      if (r.status !== 200 || r.body.trim() !== "ok") bad.push(`${p.spec?.nodeName ?? p.metadata.name} (${endpoint.host}:${endpoint.port}: ${r.status || r.body})`);
    }
    return bad.length > 0 ? `the API server of ${bad.join(", ")} is not healthy, and restarting this one could leave none` : undefined;
  };
  return {
    async acquire(signal) {
      let { client: c, creds } = await ensureClient();
      try {
        await c.get(`/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${LEASE_NAME}`).catch(async (e: unknown) => {
          if (e instanceof ApiError && e.status === 403 && (await exists(join(o.root, LAYOUT.kubernetesDir, "super-admin.conf")))) {
            o.log.info("admin.conf may not read Leases: using super-admin.conf");
            ({ client: c, creds } = await ensureClient("super-admin.conf"));
            return;
          }
          if (e instanceof ApiError && e.status === 404) return;
          throw e;
        });
        return await acquireLease({
          client: c, holder: o.settings.nodeName, log: o.log, clock,
          durationSeconds: o.settings.healthTimeoutSeconds + 60,
          waitMs: o.settings.leaseWaitSeconds * 1000,
          othersUnhealthy: othersUnhealthy(c, creds),
          ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}), ...(signal ? { signal } : {}),
        });
      } catch (e) {
        if (e instanceof ApiUnreachableError) {
          o.log.warn(`the API server is unreachable (${e.message}): restarting without the ${LEASE_NAME} lease (expected when the certificates had already expired, or on a single control-plane host)`);
          return { release: () => Promise.resolve(), lost: () => undefined };
        }
        if (e instanceof ApiError) {
          throw new RenewCertsError("LEASE_TIMEOUT", `could not take the ${LEASE_NAME} lease in kube-system: ${e.message}. The certificates are renewed on disk; grant admin.conf's user get/create/update on leases in kube-system, and the next run restarts the control plane`);
        }
        throw e;
      }
    },
    async event(reason, message, type) {
      try {
        const c = client ?? (await ensureClient()).client;
        await recordEvent(c, { node: o.settings.nodeName, reason, message, type, now: new Date(clock.now()), log: o.log });
      } catch (e) {
        o.log.warn(`could not record the ${reason} event: ${(e as Error).message}`);
      }
    },
  };
}
