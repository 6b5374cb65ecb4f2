// What renew-certs.service runs before every run, outside its sandbox (ExecStartPre=+):
// `renew-certs install --directories-only`. It reads the configuration as it is now, creates the
// directories a run will write (see directories.ts), and compares the installed units with those
// this configuration makes: a unit installed for another backupDir or metricsFile cannot write
// the new one (it is read-only to the service), which would fail every due run or lose the
// metrics without a word, so that is an error naming the fix; any other difference is a warning.
import { join, relative } from "node:path";
import { HOST_PATHS, type Settings } from "../config/settings.js";
import { resolveSettings } from "../config/load.js";
import { RenewCertsError } from "../errors.js";
import { exists, readText } from "../util/fs.js";
import { renderServiceUnit, renderTimerUnit } from "./files.js";
import { directoryProblem, ensureDirectory, serviceDirectories, unwritableDirectories, type ServiceDirectory } from "./directories.js";
import { checkRoot } from "./plan.js";

/** How the installed units compare with the units the configuration makes now. */
export interface UnitDrift {
  /** Directories the configuration names that the installed service cannot write. */
  unwritable: ServiceDirectory[];
  /** Installed units whose bytes differ from what install would write now. */
  differing: string[];
  /** False when the service unit is not installed under the root. */
  installed: boolean;
}

/** Compares the units installed under `root` with those `settings` make (read-only). */
export async function unitDrift(root: string, settings: Settings): Promise<UnitDrift> {
  const serviceFile = join(root, HOST_PATHS.serviceUnit);
  if (!(await exists(serviceFile))) return { unwritable: [], differing: [], installed: false };
  const service = await readText(serviceFile, "service unit");
  const timerFile = join(root, HOST_PATHS.timerUnit);
  const timer = (await exists(timerFile)) ? await readText(timerFile, "timer unit") : undefined;
  const differing = [
    ...(service === renderServiceUnit(settings) ? [] : [HOST_PATHS.serviceUnit]),
    ...(timer === undefined || timer === renderTimerUnit(settings) ? [] : [HOST_PATHS.timerUnit]),
  ];
  return { unwritable: unwritableDirectories(service, settings), differing, installed: true };
}

/** What `install --directories-only` did. */
export interface PreparedDirectories {
  /** Directories created now (host paths), outermost first. */
  created: { path: string; mode: number }[];
  drift: UnitDrift;
}

/** The one line that says the installed units are behind the configuration file. */
export function driftWarning(d: UnitDrift): string {
  return `${d.differing.join(" and ")} ${d.differing.length > 1 ? "differ" : "differs"} from what ${HOST_PATHS.configFile} asks for (it changed after install, or renew-certs was upgraded): run renew-certs install to update the units`;
}

/**
 * `install --directories-only`: throws CONFIG when the installed service cannot write a directory
 * the configuration under `root` names, else creates those that are missing (backupDir 0700, the
 * metrics file's directory 0755). Never rewrites a unit: that is install's job.
 */
export async function prepareDirectories(o: { root?: string }): Promise<PreparedDirectories> {
  const root = await checkRoot(o.root ?? "/");
  const configFile = join(root, HOST_PATHS.configFile);
  const settings = await resolveSettings((await exists(configFile)) ? { configFile } : {});
  const problem = directoryProblem(settings);
  if (problem) throw new RenewCertsError("CONFIG", `configuration file ${configFile}: ${problem}`, { file: configFile });
  const drift = await unitDrift(root, settings);
  if (drift.unwritable.length > 0) {
    const what = drift.unwritable.map((d) => `${d.path} (${d.setting})`).join(" and ");
    throw new RenewCertsError(
      "CONFIG",
      `${HOST_PATHS.serviceUnit} cannot write ${what}: it was installed for another configuration than ${configFile}, and the rest of the file system is read-only to it; run renew-certs install to update the unit`,
      { file: configFile },
    );
  }
  const created: PreparedDirectories["created"] = [];
  for (const d of serviceDirectories(settings)) {
    const dir = join(root, d.path);
    for (const path of await ensureDirectory(dir, d.mode)) created.push({ path: `/${relative(root, path)}`, mode: path === dir ? d.mode : 0o755 });
  }
  return { created, drift };
}
