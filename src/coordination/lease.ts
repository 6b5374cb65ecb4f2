import { RenewCertsError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { Clock } from "../run/wait.js";
import { ApiError, type KubeClient } from "./kube-client.js";

/** The Lease renew-certs takes in kube-system before restarting a control plane. */
export const LEASE_NAME = "renew-certs";
const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";

/** A coordination.k8s.io/v1 Lease, as much of it as renew-certs reads and writes. */
export interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** True when another holder's lease is still live at `nowMs` (renewTime + leaseDurationSeconds in the future). */
export function heldByOther(l: Lease | undefined, holder: string, nowMs: number): boolean {
  const s = l?.spec;
  if (!s?.holderIdentity || s.holderIdentity === holder) return false;
  const renewed = Date.parse(s.renewTime ?? s.acquireTime ?? "");
  return Number.isFinite(renewed) && renewed + (s.leaseDurationSeconds ?? 0) * 1000 > nowMs;
}

/** Options of acquireLease. */
export interface LeaseOptions {
  client: KubeClient;
  /** holderIdentity: the node name. */
  holder: string;
  /** How long the lease lives without renewal; it must cover the health waits. */
  durationSeconds: number;
  /** How long to wait for another holder or for unhealthy peers before LEASE_TIMEOUT. */
  waitMs: number;
  log: Logger;
  /** Wall-clock milliseconds (Lease times are wall-clock) and sleeping; tests inject their own. */
  clock: Clock;
  /** Checked before taking the lease: undefined when every other API server is healthy, else why not. */
  othersUnhealthy?: () => Promise<string | undefined>;
  /** Pause between attempts, ms (default 2000). */
  retryMs?: number;
}

/** A held lease: renewed in the background until released. */
export interface HeldLease {
  release(): Promise<void>;
}

async function readLease(c: KubeClient): Promise<Lease | undefined> {
  try {
    return await c.get<Lease>(`${LEASES}/${LEASE_NAME}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

/** One attempt to take the lease; true when it is ours. Conflicts (409) are a lost race: false. */
async function tryTake(o: LeaseOptions): Promise<boolean> {
  const now = o.clock.now();
  const current = await readLease(o.client);
  if (heldByOther(current, o.holder, now)) return false;
  const t = microTime(now);
  try {
    if (!current) {
      await o.client.create<Lease>(LEASES, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: LEASE_NAME, namespace: "kube-system" }, spec: { holderIdentity: o.holder, leaseDurationSeconds: o.durationSeconds, acquireTime: t, renewTime: t, leaseTransitions: 0 } });
    } else {
      const changed = current.spec.holderIdentity !== o.holder;
      await o.client.update<Lease>(`${LEASES}/${LEASE_NAME}`, {
        ...current,
        spec: { ...current.spec, holderIdentity: o.holder, leaseDurationSeconds: o.durationSeconds, renewTime: t, ...(changed ? { acquireTime: t, leaseTransitions: (current.spec.leaseTransitions ?? 0) + 1 } : {}) },
      });
    }
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) return false;
    throw e;
  }
}

/**
 * Takes the restart Lease: waits while the other control-plane API servers are unhealthy or
 * another host holds a live lease, bounded by `waitMs` (then LEASE_TIMEOUT). Once held, the lease
 * is renewed every third of its duration until released. Release clears the holder, as client-go's
 * leader election does on release, so the next host need not wait for expiry.
 */
export async function acquireLease(o: LeaseOptions): Promise<HeldLease> {
  const deadline = o.clock.now() + o.waitMs;
  const retry = o.retryMs ?? 2000;
  let waitingFor = "";
  for (;;) {
    const unhealthy = o.othersUnhealthy ? await o.othersUnhealthy() : undefined;
    if (unhealthy === undefined && (await tryTake(o))) break;
    const why = unhealthy ?? `another control-plane host holds the ${LEASE_NAME} lease (${(await readLease(o.client))?.spec.holderIdentity ?? "?"})`;
    if (why !== waitingFor) o.log.info(`waiting before the restart: ${why}`);
    waitingFor = why;
    if (o.clock.now() + retry > deadline) {
      throw new RenewCertsError("LEASE_TIMEOUT", `gave up after ${Math.round(o.waitMs / 1000)} s waiting before the restart: ${why}. The certificates are renewed on disk; the control plane still runs on the old ones and the next run restarts it`);
    }
    await o.clock.sleep(retry);
  }
  o.log.info(`took the ${LEASE_NAME} lease in kube-system`, { holder: o.holder, durationSeconds: o.durationSeconds });
  let renewing: Promise<void> = Promise.resolve();
  const renew = async (): Promise<void> => {
    try {
      const l = await readLease(o.client);
      if (l?.spec.holderIdentity !== o.holder) {
        o.log.warn(`lost the ${LEASE_NAME} lease to ${l?.spec.holderIdentity || "nobody"}`);
        return;
      }
      await o.client.update(`${LEASES}/${LEASE_NAME}`, { ...l, spec: { ...l.spec, renewTime: microTime(o.clock.now()) } });
    } catch (e) {
      o.log.warn(`could not renew the ${LEASE_NAME} lease: ${(e as Error).message}`);
    }
  };
  // Renewed every third of its duration while the health waits run; unref'd so it never holds the process.
  const timer = setInterval(() => { renewing = renewing.then(renew); }, Math.max(200, (o.durationSeconds * 1000) / 3));
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await renewing;
      try {
        const l = await readLease(o.client);
        if (l?.spec.holderIdentity === o.holder) {
          await o.client.update(`${LEASES}/${LEASE_NAME}`, { ...l, spec: { ...l.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(o.clock.now()) } });
        }
        o.log.info(`released the ${LEASE_NAME} lease`);
      } catch (e) {
        o.log.warn(`could not release the ${LEASE_NAME} lease (it expires by itself): ${(e as Error).message}`);
      }
    },
  };
}
