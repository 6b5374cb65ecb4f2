// The directories a run writes besides /etc/kubernetes and its own state directory: the backups
// (backupDir) and the directory of the metrics file. renew-certs.service makes the whole file
// system read-only (ProtectSystem=strict) except its ReadWritePaths, and systemd silently drops a
// "-DIR" entry whose directory does not exist when a process of the unit starts; without the "-",
// a missing directory makes every process of the unit fail (status 226/NAMESPACE), even an
// unsandboxed ExecStartPre=+. So the unit lists them with "-", install creates them, and the
// unit's ExecStartPre=+ (install --directories-only, see prepare.ts) creates them again whenever
// they are missing: each process of a unit gets its own namespace, so ExecStart= then finds them.
import { chmod, mkdir, stat } from "node:fs/promises";
import { dirname, posix } from "node:path";
import { fileError, isErrno, RenewCertsError } from "../errors.js";
import type { Settings } from "../config/settings.js";

/** Where the state of renew-certs lives (backups, the lock): the service's StateDirectory. */
export const STATE_DIR = "/var/lib/renew-certs";

/** The directories of the unit that always exist, or that systemd creates and keeps (StateDirectory). */
const ALWAYS_WRITABLE = ["/etc/kubernetes", STATE_DIR];

/** Where a run's files do not outlive the run: its private /tmp and /var/tmp (PrivateTmp=yes), its RuntimeDirectory. */
const EPHEMERAL: readonly { dir: string; why: string }[] = [
  { dir: "/tmp", why: "private to renew-certs.service (PrivateTmp=yes) and removed after each run" },
  { dir: "/var/tmp", why: "private to renew-certs.service (PrivateTmp=yes) and removed after each run" },
  { dir: "/run/renew-certs", why: "the service's RuntimeDirectory, removed when each run ends" },
];

/** A directory a run writes, which the service's sandbox must make writable. */
export interface ServiceDirectory {
  /** Absolute host path (normalized). */
  path: string;
  /** The mode it is created with: backups 0700; the metrics directory 0755, node_exporter reads it. */
  mode: number;
  /** The setting that names it, for messages. */
  setting: "backupDir" | "metricsFile";
}

/** An absolute path without "." or ".." parts, repeated or trailing slashes. */
function clean(p: string): string {
  return posix.normalize(p).replace(/(.)\/+$/, "$1");
}

/** True when `dir` is `base` or inside it. */
function isUnder(dir: string, base: string): boolean {
  return dir === base || dir.startsWith(base.endsWith("/") ? base : `${base}/`);
}

/** The directories of these settings that need a ReadWritePaths entry (outside /etc/kubernetes and the state directory). Pure. */
export function serviceDirectories(s: Settings): ServiceDirectory[] {
  const out: ServiceDirectory[] = [];
  if (s.metricsFile) out.push({ path: posix.dirname(clean(s.metricsFile)), mode: 0o755, setting: "metricsFile" });
  out.push({ path: clean(s.backupDir), mode: 0o700, setting: "backupDir" });
  return out.filter((d) => !ALWAYS_WRITABLE.some((w) => isUnder(d.path, w)));
}

/**
 * The problem with where these settings make a run write, or undefined: a backupDir or metrics
 * file in a directory the service loses after each run would be lost without a word. Pure.
 */
export function directoryProblem(s: Settings): string | undefined {
  for (const d of serviceDirectories(s)) {
    const e = EPHEMERAL.find((x) => isUnder(d.path, x.dir));
    if (!e) continue;
    const instead = d.setting === "backupDir" ? `${STATE_DIR}/backups` : "/var/lib/node_exporter/textfile_collector/renew_certs.prom";
    return `${d.setting} puts files in ${d.path}, inside ${e.dir}, which is ${e.why}: choose another directory, such as ${instead}`;
  }
  return undefined;
}

/** The unit's ReadWritePaths entries for these settings ("-": may be missing when the unit starts). Pure. */
export function readWritePaths(s: Settings): string[] {
  // /root/.kube is refreshed only when it holds a copy of admin.conf: missing, there is nothing to do.
  // /var/lib/kubelet/pki: the kubelet's client certificate, re-issued when it has expired.
  return ["/etc/kubernetes", "-/var/lib/kubelet/pki", "-/root/.kube", ...serviceDirectories(s).map((d) => `-${d.path}`)];
}

/** The directories of `s` that the service unit `unitText` cannot write (not under its ReadWritePaths). Pure. */
export function unwritableDirectories(unitText: string, s: Settings): ServiceDirectory[] {
  const writable = [...unitText.matchAll(/^ReadWritePaths=(.*)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)).map((p) => p.replace(/^[-+]+/, ""));
  if (/^StateDirectory=renew-certs\b/m.test(unitText)) writable.push(STATE_DIR);
  return serviceDirectories(s).filter((d) => !writable.some((w) => w.startsWith("/") && isUnder(d.path, clean(w))));
}

/**
 * Creates `dir` and its missing parents: the parents 0755, `dir` itself `mode`, both set
 * explicitly (the service's UMask=0077 would make a 0755 directory 0700). Returns the directories
 * it created, outermost first; an existing `dir` is left as it is. A file in the way is an error.
 */
export async function ensureDirectory(dir: string, mode: number): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      if (!(await stat(d)).isDirectory()) {
        throw new RenewCertsError("ROOT", `${d} is not a directory, but renew-certs writes into ${dir}: move it away, or change the setting in the configuration file`, { file: d });
      }
      break;
    } catch (e) {
      if (e instanceof RenewCertsError) throw e;
      // ENOTDIR: a file further up, which the walk reaches next.
      if (!isErrno(e, "ENOENT") && !isErrno(e, "ENOTDIR")) throw fileError(e, d, "directory");
      missing.unshift(d);
      if (dirname(d) === d) break;
    }
  }
  for (const d of missing) {
    const m = d === dir ? mode : 0o755;
    try {
      await mkdir(d, { mode: m });
      await chmod(d, m);
    } catch (e) {
      if (!isErrno(e, "EEXIST")) throw fileError(e, d, "directory");
    }
  }
  return missing;
}
