import { realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { RenewCertsError, fileError, isErrno } from "../errors.js";
import { HOST_PATHS, type Settings } from "../config/settings.js";
import { resolveSettings, type SettingFlags } from "../config/load.js";
import { hostFiles } from "./files.js";
import { directoryProblem, serviceDirectories, type ServiceDirectory } from "./directories.js";
import { checkRoot, readExisting, writeStep, type FileStep, type HostPlan } from "./plan.js";
import type { SystemdHost } from "./systemd.js";

/** The timer unit's name. */
export const TIMER = "renew-certs.timer";

/** Options of `renew-certs install`. */
export interface InstallOptions {
  /** The host's root directory (default "/"). */
  root?: string;
  /** Settings from flags (--certificate-renew-interval, --schedule); they win over an existing config file. */
  flags?: SettingFlags;
  /** The executable to install at /usr/local/bin/renew-certs (--binary). */
  binary?: string;
  /** The running standalone executable, used when --binary is not given (undefined under `node`). */
  selfExecutable?: string;
  /** Enable and start the timer (default true; --no-enable). */
  enable?: boolean;
  systemd: SystemdHost;
}

/** An install plan, with the settings it writes and the schedule's next run. */
export interface InstallPlan extends HostPlan {
  settings: Settings;
  /** When the timer elapses next, from systemd-analyze (before the random delay). */
  nextElapse: string | undefined;
}

/** The manual commands when systemctl cannot be run here. */
function manualEnable(root: string): string {
  const offline = root === "/" ? "" : `, or for an image, systemctl --root=${root} enable ${TIMER}`;
  return `run on the host: systemctl daemon-reload && systemctl enable --now ${TIMER}${offline}`;
}

/** Checks the schedule with systemd-analyze; a bad one is a CONFIG error naming where it came from. */
async function checkSchedule(s: Settings, fromFlag: boolean, configFile: string, systemd: SystemdHost, notes: string[]): Promise<string | undefined> {
  const check = await systemd.checkCalendar(s.schedule);
  if (check.valid === true) return check.nextElapse;
  if (check.valid === "unknown") {
    notes.push(`${check.message}; check it with: systemd-analyze calendar '${s.schedule}'`);
    return undefined;
  }
  const where = fromFlag ? "--schedule" : `schedule in configuration file ${configFile}`;
  throw new RenewCertsError(
    "CONFIG",
    `${where} ${JSON.stringify(s.schedule)} is not a systemd calendar expression (systemd-analyze: ${check.message}); use one such as daily, weekly or "*-*-* 03:00:00" (see systemd.time(7))`,
    fromFlag ? {} : { file: configFile },
  );
}

/** The step for /usr/local/bin/renew-certs: copy the given or running executable unless identical. */
async function binaryStep(root: string, o: InstallOptions): Promise<FileStep> {
  const path = HOST_PATHS.binary;
  const target = join(root, path);
  const source = o.binary ?? o.selfExecutable;
  if (source === undefined) {
    if (await readExisting(target, "executable")) return { action: "keep", path, file: target, note: "already there; pass --binary to replace it" };
    throw new RenewCertsError(
      "USAGE",
      `no standalone executable to install at ${target}: renew-certs runs under Node.js here, so pass --binary PATH (the standalone executable, dist/renew-certs after npm run build)`,
    );
  }
  const src = await readExisting(source, "executable (--binary)");
  if (!src) throw new RenewCertsError("USAGE", `--binary ${source} does not exist: pass the standalone renew-certs executable`, { file: source });
  const same = await Promise.all([realpath(source), realpath(target).catch(() => "")]);
  if (same[0] === same[1]) return { action: "keep", path, file: target, note: "the running executable" };
  const step = await writeStep(root, path, src.bytes, 0o755, "executable");
  return step.action === "keep" ? step : { ...step, note: `from ${source}` };
}

/** The step for a directory the service writes: created (with its parents) unless it exists. */
async function directoryStep(root: string, d: ServiceDirectory): Promise<FileStep> {
  const file = join(root, d.path);
  const path = `${d.path}/`;
  const s = await stat(file).catch((e: unknown) => {
    if (isErrno(e, "ENOENT")) return undefined;
    throw fileError(e, file, "directory");
  });
  if (!s) return { action: "mkdir", path, file, mode: d.mode, note: `for ${d.setting}` };
  if (!s.isDirectory()) throw new RenewCertsError("ROOT", `${file} is not a directory, but ${d.setting} in the configuration says renew-certs writes into it: move it away, or change ${d.setting}`, { file });
  return { action: "keep", path, file, note: `exists (${d.setting})` };
}

/**
 * Plans `renew-certs install`: the configuration file (an existing one's values kept, flags
 * applied), the two units, the executable, the directories a run writes (backupDir, the metrics
 * file's), then systemctl daemon-reload and enable --now when --root is / and systemd runs.
 * Reads only; applyPlan writes.
 */
export async function planInstall(o: InstallOptions): Promise<InstallPlan> {
  const root = await checkRoot(o.root ?? "/");
  const configFile = join(root, HOST_PATHS.configFile);
  const existing = await readExisting(configFile, "configuration file");
  const flags = o.flags ?? {};
  const settings = await resolveSettings({ ...(existing ? { configFile } : {}), flags });
  const problem = directoryProblem(settings);
  if (problem) throw new RenewCertsError("CONFIG", `configuration file ${configFile}: ${problem}`, { file: configFile });
  const notes: string[] = [];
  const nextElapse = await checkSchedule(settings, flags.schedule !== undefined, configFile, o.systemd, notes);

  const files: FileStep[] = [];
  for (const f of hostFiles(settings)) files.push(await writeStep(root, f.path, f.content, f.mode, "file"));
  files.push(await binaryStep(root, o));
  for (const d of serviceDirectories(settings)) files.push(await directoryStep(root, d));

  const changed = (p: string): boolean => files.some((f) => f.path === p && f.action !== "keep");
  const unitsChanged = changed(HOST_PATHS.serviceUnit) || changed(HOST_PATHS.timerUnit);
  const enable = o.enable !== false;
  const after: string[][] = [];
  if (o.systemd.controls(root)) {
    if (unitsChanged) after.push(["daemon-reload"]);
    if (enable) {
      const enabled = (await o.systemd.systemctl(["is-enabled", TIMER])).stdout.trim() === "enabled";
      const active = (await o.systemd.systemctl(["is-active", TIMER])).stdout.trim() === "active";
      if (!enabled || !active) after.push(["enable", "--now", TIMER]);
      // A running timer keeps its old schedule until restarted.
      else if (changed(HOST_PATHS.timerUnit)) after.push(["restart", TIMER]);
    } else {
      notes.push(`the timer is not enabled (--no-enable): systemctl enable --now ${TIMER}`);
    }
  } else if (unitsChanged) {
    const why = root === "/" ? "systemd is not running here (a container or an image build?)" : `--root is ${root}, not /`;
    notes.push(`${why}, so systemctl was not run: ${enable ? manualEnable(root) : "run systemctl daemon-reload on the host"}`);
  }
  return { root, before: [], files, after, notes, settings, nextElapse };
}
