// The CA part of `run`, before the leaves: which CAs are due (within caRenewBeforeDays of their
// NotAfter, or expired), the certificate each gets (adopted from the cluster when another host
// published one this key accepts, else re-signed here: plan.ts), and what a renewed CA makes the
// run restart (trust-locations.ts restartsFor). The writes join the leaves' in one renewal
// (renewal/renew.ts `resigned`): one backup, one intent record, one lock.
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Inventory } from "../inventory/scan.js";
import { LAYOUT, type CaName } from "../inventory/catalog.js";
import type { Settings } from "../config/settings.js";
import type { Logger } from "../log/logger.js";
import { DAY_MS } from "../policy/age.js";
import { parseCertificatePem } from "../pki/pem.js";
import type { ResignedCa } from "../renewal/renew.js";
import { loadCa } from "../renewal/material.js";
import { planCaRenewal, type CaPlan } from "./plan.js";
import { restartsFor } from "./trust-locations.js";
import { NO_CA_CLUSTER, type CaCluster } from "./cluster-port.js";
import { readCaRecord } from "./record.js";

/** A CA due for re-signing, and why (for the log). */
export interface DueCa {
  ca: CaName;
  why: string;
  expired: boolean;
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

/** Whether a CA certificate ending at `notAfter` is due at `now`. */
export function caIsDue(notAfter: Date, now: Date, s: Pick<Settings, "caRenewBeforeDays">): boolean {
  return notAfter.getTime() - s.caRenewBeforeDays * DAY_MS <= now.getTime();
}

/** The CAs of this host that are due; an external CA (no key here) that is due is only warned about. */
export function dueCas(inv: Inventory, s: Pick<Settings, "caRenewBeforeDays">, now: Date, log: Logger): DueCa[] {
  const out: DueCa[] = [];
  for (const c of inv.cas) {
    if (c.missing || !c.cert || !caIsDue(c.cert.notAfter, now, s)) continue;
    const expired = c.cert.notAfter.getTime() <= now.getTime();
    const why = expired ? `CA ${c.spec.name} expired on ${day(c.cert.notAfter)}`
      : `CA ${c.spec.name} expires on ${day(c.cert.notAfter)}, within caRenewBeforeDays (${s.caRenewBeforeDays})`;
    if (c.externallyManaged) {
      log.warn(`${why}, but its key is not on this host (${c.keyFile}): whoever keeps it must re-sign it; renew-certs cannot`);
      continue;
    }
    out.push({ ca: c.spec.name, why, expired });
  }
  return out;
}

/** What a renewed CA makes the run restart: manifests (etcd before kube-apiserver) and whether the kubelet. */
export function caRestarts(cas: readonly CaName[]): { components: string[]; kubelet: boolean } {
  const readers = new Set(cas.flatMap((ca) => restartsFor(ca).map((r) => r.reader)));
  const order = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
  return { components: order.filter((c) => readers.has(c as never)), kubelet: readers.has("kubelet") };
}

/** One CA planned for a run: the plan, and whether its certificate came from the cluster. */
export interface RunCaPlan {
  plan: CaPlan;
  /** Where the adopted certificate was published; undefined: re-signed here. */
  adoptedFrom: string | undefined;
}

/**
 * The certificate of one CA: the published one when the API answers with a certificate this key
 * accepts and that is not itself due (the first host to renew publishes, the others adopt that
 * exact certificate); else one re-signed here (a host that cannot reach the API converges at its
 * next run: planConvergence).
 */
async function planOne(o: PlanOptions, ca: CaName): Promise<RunCaPlan> {
  const published = o.cluster === NO_CA_CLUSTER ? undefined : await o.cluster.read(ca).catch((e: unknown) => {
    o.log.info(`${ca}: the API server does not answer (${(e as Error).message}): re-signing on this host; the next run adopts a certificate another host published`);
    return undefined;
  });
  if (published) {
    const entry = o.inv.cas.find((c) => c.spec.name === ca)!;
    const local = await loadCa(entry);
    const cert = parseCertificatePem(published.pem, published.where);
    const check = o.cluster.checkAdoptable(published.pem, { cert: local.cert.x509, key: local.key }, o.now);
    if (check.ok && !caIsDue(cert.notAfter, o.now, o.settings)) {
      o.log.info(`${ca}: adopting the certificate published in ${published.where} (serial ${cert.x509.serialNumber}, until ${day(cert.notAfter)}): same key and subject`);
      return { plan: await planCaRenewal({ inv: o.inv, ca, now: o.now, validityDays: o.settings.caValidityDays, log: o.log, adopt: published.pem }), adoptedFrom: published.where };
    }
    o.log.info(`${ca}: not adopting the certificate in ${published.where}: ${check.ok ? "it is due itself" : check.why}; re-signing on this host`);
  }
  return { plan: await planCaRenewal({ inv: o.inv, ca, now: o.now, validityDays: o.settings.caValidityDays, log: o.log }), adoptedFrom: undefined };
}

/** What planning a run's CAs needs. */
export interface PlanOptions {
  inv: Inventory;
  settings: Settings;
  now: Date;
  log: Logger;
  cluster: CaCluster;
}

/** Plans every due CA (nothing is written). */
export async function planRunCas(o: PlanOptions, due: readonly DueCa[]): Promise<RunCaPlan[]> {
  const out: RunCaPlan[] = [];
  for (const d of due) out.push(await planOne(o, d.ca));
  return out;
}

/**
 * The CAs whose published certificate differs from this host's file but has the same key, is
 * adoptable and not due: this host re-signed on its own while the API was away (or another host
 * renewed first), and converges on the cluster's certificate now (planOne adopts it).
 */
export async function convergingCas(o: PlanOptions, skip: readonly CaName[]): Promise<DueCa[]> {
  if (o.cluster === NO_CA_CLUSTER) return [];
  const out: DueCa[] = [];
  for (const c of o.inv.cas) {
    if (c.missing || !c.cert || c.externallyManaged || skip.includes(c.spec.name)) continue;
    const published = await o.cluster.read(c.spec.name).catch(() => undefined);
    if (!published || new X509Certificate(published.pem).fingerprint256 === c.cert.x509.fingerprint256) continue;
    const local = await loadCa(c);
    const check = o.cluster.checkAdoptable(published.pem, { cert: local.cert.x509, key: local.key }, o.now);
    if (!check.ok || caIsDue(new Date(new X509Certificate(published.pem).validTo), o.now, o.settings)) continue;
    out.push({ ca: c.spec.name, why: `CA ${c.spec.name} on this host differs from the certificate published in ${published.where}`, expired: false });
  }
  return out;
}

/**
 * The renewal's view of the planned CAs. /root/.kube/config is left to the run's refresh when it is
 * a copy of admin.conf (it takes the new admin.conf whole, client certificate included).
 */
export async function resignedOf(plans: readonly RunCaPlan[], o: { root: string; refreshRootKubeconfig: boolean }): Promise<ResignedCa[]> {
  const rootConfig = join(o.root, LAYOUT.rootKubeconfig);
  const read = (f: string): Promise<string | undefined> => readFile(f, "utf8").catch(() => undefined);
  const copy = o.refreshRootKubeconfig && (await read(rootConfig)) === (await read(join(o.root, LAYOUT.kubernetesDir, "admin.conf")));
  return plans.map(({ plan }) => ({
    ca: plan.ca,
    cert: parseCertificatePem(plan.made.pem, plan.caFile),
    pem: plan.made.pem,
    writes: plan.writes.filter((w) => !(copy && w.path === rootConfig)),
  }));
}

/** The command that refreshes a user's copy of a kubeconfig after `ca` was renewed. */
export function kubeconfigRefreshCommand(clusterName: string | undefined, caFile: string): string {
  return `kubectl config set clusters.${clusterName ?? "kubernetes"}.certificate-authority-data "$(base64 -w0 < ${caFile})"`;
}

/**
 * Publishes this host's renewed certificate of each CA for which the cluster holds none, or one
 * that is itself due (a host that renewed while the API was away, and no other host published
 * since). Only a certificate this host's record names as its own renewal; errors are logged.
 */
export async function publishUnpublished(o: PlanOptions): Promise<void> {
  if (o.cluster === NO_CA_CLUSTER) return;
  for (const c of o.inv.cas) {
    if (c.missing || !c.cert || c.externallyManaged || caIsDue(c.cert.notAfter, o.now, o.settings)) continue;
    const record = await readCaRecord(o.inv.root, c.spec.name);
    if (record?.fingerprint256 !== c.cert.x509.fingerprint256) continue;
    try {
      const published = await o.cluster.read(c.spec.name);
      if (published && !caIsDue(new Date(new X509Certificate(published.pem).validTo), o.now, o.settings)) continue;
      const { where } = await o.cluster.publish(c.spec.name, await readFile(c.certFile, "utf8"));
      o.log.info(`${c.spec.name}: published this host's renewed certificate in ${where} (the cluster held ${published ? "one that is due" : "none"})`);
    } catch (e) {
      o.log.debug(`${c.spec.name}: could not check or publish the renewed certificate: ${(e as Error).message}`);
    }
  }
}
