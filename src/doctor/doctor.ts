import { join } from "node:path";
import { DEFAULT_SETTINGS, HOST_PATHS, type Settings } from "../config/settings.js";
import { loadConfig } from "../config/load.js";
import { LAYOUT } from "../inventory/catalog.js";
import { scanInventory } from "../inventory/scan.js";
import { readManifest } from "../manifests/manifest.js";
import { credentialsFromKubeconfig } from "../kube/credentials.js";
import { realSystemd, type SystemdHost } from "../host/systemd.js";
import { exists } from "../util/fs.js";
import { kubeClient, ApiUnreachableError, type KubeClient } from "../kube/client.js";
import { checkAnnotations, checkCas, checkCertificates, checkInterrupted, type DoctorContext } from "./checks.js";
import { checkRunning } from "./running.js";
import { checkKubelet, checkRecovery } from "./recovery.js";
import { nodeNameOf } from "../kube/endpoint.js";
import { checkLastRun, checkTimer, checkUnits } from "./host-checks.js";
import { worst, type Finding, type Severity } from "./findings.js";

/** Options of a doctor run; effects are overridable for tests. */
export interface DoctorOptions {
  root: string;
  now?: Date;
  systemd?: SystemdHost;
  /** Makes the API client; default: the local API server with admin.conf. Return undefined for none. */
  api?: (root: string) => Promise<KubeClient | undefined>;
  tls?: DoctorContext["tls"];
}

/** doctor's report: every finding and the worst severity. */
export interface DoctorReport {
  root: string;
  result: Severity;
  findings: Finding[];
}

async function defaultApi(root: string): Promise<KubeClient | undefined> {
  const admin = join(root, LAYOUT.kubernetesDir, "admin.conf");
  const manifest = join(root, LAYOUT.manifestsDir, "kube-apiserver.yaml");
  if (!(await exists(admin))) return undefined;
  const endpoint = (await exists(manifest)) ? (await readManifest(manifest)).advertiseEndpoint : { host: "127.0.0.1", port: 6443 };
  const client = kubeClient(endpoint, await credentialsFromKubeconfig(admin, root), 3000);
  try {
    await client.get("/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-apiserver");
    return client;
  } catch (e) {
    if (e instanceof ApiUnreachableError) return undefined;
    return client; // reachable; per-check errors say more
  }
}

/** The settings doctor judges by: the host's config file when present, else the defaults. */
async function hostSettings(root: string): Promise<Settings> {
  const file = join(root, HOST_PATHS.configFile);
  const s = (await exists(file)) ? await loadConfig(file) : { ...DEFAULT_SETTINGS };
  return { ...s, nodeName: await nodeNameOf(root, s.nodeName) };
}

/**
 * Checks the whole chain an operator would: the units, the timer, the last run, certificate ages, the CAs,
 * the restart annotations (and the mirror pods through the API), the served certificate.
 */
export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const settings = await hostSettings(o.root);
  const inv = await scanInventory(o.root);
  const c: DoctorContext = {
    root: o.root, settings, inv, now: o.now ?? new Date(), systemd: o.systemd ?? realSystemd,
    api: await (o.api ?? defaultApi)(o.root),
    ...(o.tls ? { tls: o.tls } : {}),
  };
  const units = await checkUnits(c);
  const installed = units[0]?.severity !== "FAIL";
  const findings = [
    ...units,
    ...(installed ? await checkTimer(c) : []),
    ...(await checkLastRun(c)),
    ...(await checkRecovery(c)),
    ...(await checkKubelet(c)),
    ...(await checkInterrupted(c)),
    ...checkCertificates(c),
    ...checkCas(c),
    ...(await checkAnnotations(c)),
    ...(await checkRunning(c)),
  ];
  return { root: o.root, result: worst(findings), findings };
}
