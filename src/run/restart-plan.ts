// Which components a run restarts, and which it leaves running to reload (restartMode minimal),
// decided before the renewal from each manifest (the image tag's version, the flags) and what each
// kubeconfig holds (reload-policy.ts). kube-apiserver is also restarted when its loopback
// certificate, made in memory at its start and read here through a TLS handshake asking for
// apiserver-loopback-client, expires before the next renewal is due plus the safety margin: a
// planned restart about once a year, instead of an API server that breaks when it expires.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ManifestRef } from "../manifests/list.js";
import { readManifest } from "../manifests/manifest.js";
import { DAY_MS } from "../policy/age.js";
import type { Settings } from "../config/settings.js";
import { LOOPBACK_SERVER_NAME, type IdentityProbes } from "./identity.js";
import { reloadPolicy } from "./reload-policy.js";

/** A manifest to restart, or, action "reload", to leave running and prove reloaded. */
export interface PlannedRef extends ManifestRef {
  action?: "reload";
  why?: string;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The last day kube-apiserver's loopback certificate must outlive not to force a restart now: the next renewal plus the margin. */
export function loopbackHorizon(now: Date, s: Pick<Settings, "certificateRenewInterval" | "safetyMarginDays">): number {
  return now.getTime() + (s.certificateRenewInterval + s.safetyMarginDays) * DAY_MS;
}

/** Whether a kubeconfig embeds its client certificate (client-certificate-data); undefined when it cannot be read. */
async function embedsClientCert(root: string, kubeconfig: string | undefined): Promise<boolean | undefined> {
  if (!kubeconfig) return undefined;
  const text = await readFile(join(root, kubeconfig), "utf8").catch(() => undefined);
  return text === undefined ? undefined : /^\s*client-certificate-data:/m.test(text);
}

/** The plan of a run over `refs` (in order); in mode "all" every one is restarted. Logs each decision of minimal mode. */
export async function planRestarts(o: { root: string; settings: Settings; now: Date; probes: IdentityProbes; log: { info(msg: string, f?: Record<string, unknown>): void } }, refs: ManifestRef[]): Promise<PlannedRef[]> {
  if (o.settings.restartMode !== "minimal") return refs;
  const out: PlannedRef[] = [];
  for (const ref of refs) {
    const m = await readManifest(ref.file);
    const p = reloadPolicy(m, await embedsClientCert(o.root, m.flags.get("kubeconfig")));
    let planned: PlannedRef = p.action === "reload" ? { ...ref, action: "reload", why: p.why } : { ...ref, why: p.why };
    if (p.action === "reload" && m.component === "kube-apiserver") {
      const loopback = await o.probes.tls(m.advertiseEndpoint, LOOPBACK_SERVER_NAME);
      const horizon = loopbackHorizon(o.now, o.settings);
      if (!loopback) planned = { ...ref, why: `${m.component}: its loopback certificate could not be read (nothing answers for ${LOOPBACK_SERVER_NAME}), so when it expires is unknown: restart` };
      else if (loopback.validTo <= horizon) planned = { ...ref, why: `${m.component}: its loopback certificate, made in memory at its start, expires on ${day(loopback.validTo)}, before the next renewal is due plus the safety margin (${day(horizon)}): planned restart` };
      else planned = { ...planned, why: `${p.why}; its loopback certificate expires on ${day(loopback.validTo)}, after the next renewal plus the margin (${day(horizon)})` };
    }
    o.log.info(`${ref.component}: ${planned.action === "reload" ? "reload" : "restart"} (restart mode minimal): ${planned.why}`);
    out.push(planned);
  }
  return out;
}
