import { posix } from "node:path";
import { HOST_PATHS } from "../config/settings.js";
import { TIMER } from "./install.js";
import { checkRoot, removeStep, type FileStep, type HostPlan } from "./plan.js";
import type { SystemdHost } from "./systemd.js";

/** Options of `renew-certs uninstall`. */
export interface UninstallOptions {
  /** The host's root directory (default "/"). */
  root?: string;
  /** Remove the executable too (`deploy --uninstall`, which installed it); default false: kept. */
  removeExecutable?: boolean;
  systemd: SystemdHost;
}

/** The symbolic link `systemctl enable` makes (also by `systemctl --root=DIR enable`). */
const WANTS_LINK = `/etc/systemd/system/timers.target.wants/${TIMER}`;

/**
 * Plans `renew-certs uninstall`: stop and disable the timer, then remove the units, the enable
 * link and the configuration file (and the executable when asked). Certificates, kubeconfigs,
 * manifests and backups are not in the plan, by construction. Reads only; applyPlan writes.
 */
export async function planUninstall(o: UninstallOptions): Promise<HostPlan> {
  const root = await checkRoot(o.root ?? "/");
  const files: FileStep[] = [];
  const paths: string[] = [HOST_PATHS.timerUnit, HOST_PATHS.serviceUnit, WANTS_LINK, HOST_PATHS.configFile];
  // A run in progress keeps the executable's inode: removing the name does not cut it off.
  if (o.removeExecutable) paths.push(HOST_PATHS.binary);
  for (const path of paths) {
    const step = await removeStep(root, path);
    if (step) files.push(step);
  }
  const live = o.systemd.controls(root);
  const before: string[][] = [];
  const after: string[][] = [];
  const notes: string[] = [];
  if (live) {
    // A run in progress is not stopped: it finishes (or rolls back) by itself.
    if (files.some((f) => f.path === HOST_PATHS.timerUnit)) before.push(["disable", "--now", TIMER]);
    if (files.length > 0) after.push(["daemon-reload"]);
  } else if (files.length > 0) {
    const why = root === "/" ? "systemd is not running here" : `--root is ${root}, not /`;
    notes.push(`${why}, so systemctl was not run: if the timer is running on that host, run there: systemctl disable --now ${TIMER} && systemctl daemon-reload`);
  }
  const executable = o.removeExecutable ? "" : `${HOST_PATHS.binary} (remove it by hand if no longer wanted), `;
  notes.push(`kept: ${executable}the certificates, kubeconfigs, manifests and backups`);
  return { root, before, files, after, notes, removeEmptyDirs: [posix.dirname(HOST_PATHS.configFile)] };
}
