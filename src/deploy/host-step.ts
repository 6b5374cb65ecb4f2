// The DaemonSet's init container: installs (or uninstalls) renew-certs on its node through the
// host's root mounted at --host-root. It is `install`'s plan with the ConfigMap's settings, so the
// bytes of the units and of config.yaml are those `renew-certs install` writes, and the executable
// is the image's own. Every write is beside-then-rename (applyPlan): a run in progress keeps the
// old executable's inode. An init container runs again on every pod restart, so a run that finds
// everything current plans nothing, writes nothing and runs no systemctl command but the two
// read-only questions (is-enabled, is-active).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadConfig } from "../config/load.js";
import { LAYOUT } from "../inventory/catalog.js";
import { planInstall } from "../host/install.js";
import { applyPlan, isNoop, renderPlan, type HostPlan } from "../host/plan.js";
import { HOST_PATHS } from "../config/settings.js";
import { removeStrayTempsOf, type AtomicWriteOptions } from "../util/atomic.js";
import { planUninstall } from "../host/uninstall.js";
import type { SystemdHost } from "../host/systemd.js";

/** The kubelet's kube-apiserver manifest: its presence is what makes a host a control-plane host. */
export const CONTROL_PLANE_MARKER = `${LAYOUT.manifestsDir}/kube-apiserver.yaml`;

/** The kubelet reads at most this many bytes of a termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/** Options of the installer step. */
export interface HostStepOptions {
  /** Where the host's root is mounted (default /host). */
  hostRoot: string;
  /** The ConfigMap's config.yaml (install only). */
  configFile?: string;
  /** The executable to install: the image's own (install only). */
  executable?: string;
  systemd: SystemdHost;
  /** false: plan only, write nothing (--dry-run). Default true. */
  apply?: boolean;
  /** Called after each durable step of a write: the crash tests' hook. */
  onStep?: AtomicWriteOptions["onStep"];
}

/** What the step did on this node, for the logs and the termination message. */
export interface HostStepReport {
  role: "control-plane" | "worker";
  /** The plan carried out. */
  plan?: HostPlan;
  /** True when nothing had to change. */
  unchanged: boolean;
  /** A few lines for people: the first says what was done. */
  message: string;
}

/** True when the host under `hostRoot` runs a kube-apiserver static pod. */
export function isControlPlane(hostRoot: string): boolean {
  return existsSync(join(hostRoot, CONTROL_PLANE_MARKER));
}

/** The report's text: a headline, then the plan's lines. Pure. */
function message(headline: string, plan: HostPlan | undefined): string {
  return `${headline}\n${plan ? renderPlan(plan) : ""}`;
}

/**
 * Installs or updates renew-certs on a host, control plane or worker alike: on a worker node the
 * same timer runs the worker job (src/worker: the node's CA certificate kept current).
 */
export async function installHost(o: HostStepOptions, version: string, node: string): Promise<HostStepReport> {
  const where = node ? ` on node ${node}` : "";
  const role = isControlPlane(o.hostRoot) ? "control-plane" : "worker";
  const settings = o.configFile !== undefined ? await loadConfig(o.configFile) : undefined;
  // A pod killed halfway (OOM, a node restart) may have left a temporary file beside one of ours:
  // the executable's is as large as the executable.
  const ours = [HOST_PATHS.configFile, HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit, HOST_PATHS.binary].map((p) => join(o.hostRoot, p));
  if (o.apply !== false) await removeStrayTempsOf(ours.filter((f) => existsSync(dirname(f))));
  const plan = await planInstall({
    root: o.hostRoot,
    // Every setting, from the ConfigMap: it wins over what the host's file says.
    ...(settings ? { flags: { ...settings } } : {}),
    ...(o.executable !== undefined ? { binary: o.executable } : {}),
    systemd: o.systemd,
  });
  const unchanged = isNoop(plan);
  if (!unchanged && o.apply !== false) await applyPlan(plan, o.systemd, { done: "the files are installed; the pod will try again when it restarts", ...(o.onStep ? { onStep: o.onStep } : {}) });
  const did = unchanged ? "already installed as configured, nothing changed" : "installed or updated";
  return { role, plan, unchanged, message: message(`renew-certs ${version}${where}: ${role} node: ${did}`, plan) };
}

/** Removes the units, the configuration file and the executable; certificates, backups and the state stay. */
export async function uninstallHost(o: HostStepOptions, version: string, node: string): Promise<HostStepReport> {
  const where = node ? ` on node ${node}` : "";
  const plan = await planUninstall({ root: o.hostRoot, removeExecutable: true, systemd: o.systemd });
  const unchanged = isNoop(plan);
  if (!unchanged && o.apply !== false) await applyPlan(plan, o.systemd, { done: "the files are removed; run systemctl daemon-reload on the host" });
  const role = isControlPlane(o.hostRoot) ? "control-plane" : "worker";
  const did = unchanged ? "nothing of renew-certs was installed here, nothing changed" : "uninstalled";
  return { role, plan, unchanged, message: message(`renew-certs ${version}${where}: ${role} node: ${did}`, plan) };
}

/** `text` cut to the termination message's limit, on a line boundary, saying that it was cut. Pure. */
export function terminationMessage(text: string, limit = TERMINATION_MESSAGE_LIMIT): string {
  if (Buffer.byteLength(text) <= limit) return text;
  const tail = "… (cut; the whole report is in the container's log)\n";
  let cut = text.slice(0, limit - Buffer.byteLength(tail));
  while (Buffer.byteLength(cut) > limit - Buffer.byteLength(tail)) cut = cut.slice(0, -1);
  const nl = cut.lastIndexOf("\n");
  return `${nl > 0 ? cut.slice(0, nl + 1) : cut}${tail}`;
}
