import { RenewCertsError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { Clock } from "../run/wait.js";
import { ApiError, type KubeClient } from "../kube/client.js";
import { unlessStopped } from "../util/stop.js";

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

/**
 * Another holder's lease, judged as client-go's leader election does: by how long THIS host has
 * seen the record unchanged (its observedTime), never by the holder's renewTime against our clock,
 * so that clock skew between hosts decides nothing. `observed` is updated in place.
 */
export function heldByOther(l: Lease | undefined, holder: string, nowMs: number, observed: { key: string; at: number }): boolean {
  const s = l?.spec;
  if (!s?.holderIdentity || s.holderIdentity === holder) return false;
  const key = `${s.holderIdentity}|${s.renewTime ?? ""}|${l?.metadata.resourceVersion ?? ""}`;
  if (observed.key !== key) {
    observed.key = key;
    observed.at = nowMs;
  }
  return nowMs - observed.at < (s.leaseDurationSeconds ?? 0) * 1000;
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
  /** Aborted (SIGTERM): the wait for the lease ends at once with TERMINATED, nothing held. */
  signal?: AbortSignal;
}

/** A held lease: renewed in the background until released. */
export interface HeldLease {
  release(): Promise<void>;
  /** Why it is no longer ours (another holder, or not renewed within its duration); undefined while it is. */
  lost(): string | undefined;
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
async function tryTake(o: LeaseOptions, observed: { key: string; at: number }): Promise<boolean> {
  const now = o.clock.now();
  const current = await readLease(o.client);
  if (heldByOther(current, o.holder, now, observed)) return false;
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
  const observed = { key: "", at: 0 };
  for (;;) {
    const unhealthy = o.othersUnhealthy ? await o.othersUnhealthy() : undefined;
    if (unhealthy === undefined && (await tryTake(o, observed))) break;
    const why = unhealthy ?? `another control-plane host holds the ${LEASE_NAME} lease (${(await readLease(o.client))?.spec.holderIdentity ?? "?"})`;
    if (why !== waitingFor) o.log.info(`waiting before the restart: ${why}`);
    waitingFor = why;
    if (o.clock.now() + retry > deadline) {
      throw new RenewCertsError("LEASE_TIMEOUT", `gave up after ${Math.round(o.waitMs / 1000)} s waiting before the restart: ${why}. The certificates are renewed on disk; the control plane still runs on the old ones and the next run restarts it`);
    }
    await unlessStopped(o.clock.sleep(retry), o.signal);
  }
  o.log.info(`took the ${LEASE_NAME} lease in kube-system`, { holder: o.holder, durationSeconds: o.durationSeconds });
  let renewing: Promise<void> = Promise.resolve();
  let lastRenewed = o.clock.now();
  let lost: string | undefined;
  const durationMs = o.durationSeconds * 1000;
  const renew = async (): Promise<void> => {
    if (lost) return;
    try {
      const l = await readLease(o.client);
      if (l?.spec.holderIdentity !== o.holder) {
        lost = `another control-plane host holds the ${LEASE_NAME} lease now (${l?.spec.holderIdentity || "nobody"})`;
        o.log.warn(`lost the ${LEASE_NAME} lease: ${lost}`);
        return;
      }
      await o.client.update(`${LEASES}/${LEASE_NAME}`, { ...l, spec: { ...l.spec, renewTime: microTime(o.clock.now()) } });
      lastRenewed = o.clock.now();
    } catch (e) {
      // Unreachable for a while (our own API server restarting) is fine until the lease could have expired.
      o.log.debug(`could not renew the ${LEASE_NAME} lease: ${(e as Error).message}`);
    }
    if (!lost && o.clock.now() - lastRenewed >= durationMs) {
      lost = `the ${LEASE_NAME} lease was not renewed for ${Math.round((o.clock.now() - lastRenewed) / 1000)} s, its whole duration: another host may hold it now`;
      o.log.warn(`lost the ${LEASE_NAME} lease: ${lost}`);
    }
  };
  // Renewed every third of its duration while the health waits run; unref'd so it never holds the process.
  const timer = setInterval(() => { renewing = renewing.then(renew); }, Math.max(200, durationMs / 3));
  timer.unref();
  return {
    lost: () => {
      if (!lost && o.clock.now() - lastRenewed >= durationMs) lost = `the ${LEASE_NAME} lease was not renewed within its duration (${o.durationSeconds} s)`;
      return lost;
    },
    async release() {
      clearInterval(timer);
      await renewing;
      if (lost) return;
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
