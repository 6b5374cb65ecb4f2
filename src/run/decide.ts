// "decide": is the run due, and can it restart what it renews? Everything a due run will need is
// read and checked here, before the first write: a static pod manifest that does not parse stops
// the run with every file as it was, not after the certificates have changed.
import type { Inventory } from "../inventory/scan.js";
import { decideDue, renewableWindows, type DueDecision } from "../policy/due.js";
import { manifestsToRestart, type ManifestRef } from "../manifests/list.js";
import { readManifest } from "../manifests/manifest.js";
import type { RunContext } from "./context.js";
import { join } from "node:path";
import { LAYOUT } from "../inventory/catalog.js";
import { RenewCertsError } from "../errors.js";
import { planRestarts, type PlannedRef } from "./restart-plan.js";
import { kubeletClientDue } from "../policy/kubelet-due.js";
import { checkReissuable } from "../renewal/kubelet-client.js";
import { caRestarts, convergingCas, dueCas, type DueCa } from "../ca/run-step.js";

/** What `run` decided, and the manifests it will restart (all parsed). */
export interface Decision {
  /** The leaves' decision: `due` says whether the leaves are renewed. */
  decision: DueDecision;
  /** The CAs due (renewed before the leaves, whether the leaves are due or not). */
  cas: DueCa[];
  /** In order; in restartMode minimal, some left running to reload (action "reload"). */
  restart: PlannedRef[];
  /** Configured manifests that are not there (kube-proxy as a DaemonSet, external etcd). */
  missing: ManifestRef[];
}

/** Decides, from the inventory read once for the run. Throws MANIFEST for a manifest that does not parse. */
export async function decide(ctx: RunContext, inv: Inventory): Promise<Decision> {
  let decision = decideDue(renewableWindows(inv), ctx.settings, ctx.now());
  // The kubelet cannot rotate an expired client certificate (it needs the API server): that alone
  // makes the run due, and the run goes the whole way (renewal, the kubelet's certificate, restarts).
  // (One within the margin is re-issued with a due renewal; alone it is the kubelet's to rotate.)
  const kubelet = decision.disabled || decision.due ? undefined : kubeletClientDue(inv, ctx.now(), 0);
  // Only when renew-certs can re-issue it: else every run would renew the rest again for nothing.
  if (kubelet?.due && (await checkReissuable(inv).then(() => true, (e: unknown) => { ctx.log.warn(`${kubelet.why}: ${(e as Error).message}`); return false; }))) {
    decision = { ...decision, due: true, reasons: [{ name: "kubelet client", kind: "expired", text: kubelet.why }] };
  }
  const cas = decision.disabled ? [] : dueCas(inv, ctx.settings, ctx.now(), ctx.log);
  if (!decision.disabled && ctx.caCluster) {
    const o = { inv, settings: ctx.settings, now: ctx.now(), log: ctx.log, cluster: ctx.caCluster };
    cas.push(...(await convergingCas(o, cas.map((c) => c.ca))));
  }
  if (decision.disabled || (!decision.due && cas.length === 0)) return { decision, cas, restart: [], missing: [] };
  const needs = caRestarts(cas.map((c) => c.ca));
  const list = await manifestsToRestart(ctx.root, decision.due ? ctx.settings.manifests : needs.components);
  // Renewed files that nothing restarts stay unused in memory until the old ones expire: a run
  // that can restart (and prove) nothing does not renew either.
  if (list.present.length === 0 && (decision.due || needs.components.length > 0)) {
    const dir = join(ctx.root, LAYOUT.manifestsDir);
    throw new RenewCertsError("MANIFEST", `no static pod manifest to restart in ${dir} (manifests: ${ctx.settings.manifests.length ? ctx.settings.manifests.join(", ") : "none configured"}): run renews only what it can restart and prove; nothing was changed: fix manifests in the configuration, or renew without restarting with renew-certs renew all`, { file: dir });
  }
  for (const m of list.present) await readManifest(m.file);
  const planned = await planRestarts({ root: ctx.root, settings: ctx.settings, now: ctx.now(), probes: ctx.probes, log: ctx.log }, list.present);
  const restart = await withCaRestarts(ctx, planned, needs.components);
  return { decision, cas, restart, missing: list.missing };
}

/**
 * The restart list with what a renewed CA needs: each reader that reads the CA once at start
 * (trust-locations.ts restartsFor) restarted, never left to reload (restartMode minimal included),
 * and etcd, for etcd-ca, added when present and put before kube-apiserver, which connects to it.
 */
async function withCaRestarts(ctx: RunContext, planned: PlannedRef[], needed: string[]): Promise<PlannedRef[]> {
  if (needed.length === 0) return planned;
  const out: PlannedRef[] = planned.map((p) => (needed.includes(p.component) && p.action === "reload" ? { component: p.component, file: p.file, why: CA_WHY } : p));
  const extra = (await manifestsToRestart(ctx.root, needed.filter((c) => !out.some((p) => p.component === c)))).present;
  for (const e of extra) await readManifest(e.file);
  const all = [...out, ...extra.map((e) => ({ ...e, why: CA_WHY }))];
  const etcd = all.find((p) => p.component === "etcd");
  if (etcd && needed.includes("etcd")) ctx.log.info(etcdRestartNote((await readManifest(etcd.file)).flags.get("initial-cluster")));
  return [...all.filter((p) => p.component === "etcd"), ...all.filter((p) => p.component !== "etcd")];
}

const CA_WHY = "it reads a renewed CA once, at its start";

/** What restarting etcd for etcd-ca means, from its --initial-cluster (the members it knows). */
function etcdRestartNote(initialCluster: string | undefined): string {
  const members = initialCluster ? initialCluster.split(",").filter((m) => m.trim() !== "").length : 1;
  const head = "etcd-ca: etcd reads its trusted CA only at start (etcd#11555): restarting this host's member, then kube-apiserver";
  if (members <= 1) return `${head}; etcd has one member, so this restart is the only API downtime of the renewal (kube-apiserver waits for it)`;
  return `${head}; etcd lists ${members} members: the others keep quorum while this one restarts, and the restart Lease keeps the hosts apart; ` +
    "renew-certs proves this member's new process but does not ask the others (check with etcdctl endpoint health --cluster)";
}
