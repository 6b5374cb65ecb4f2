// doctor's checks of the installation: the units, whether they were made for the configuration,
// the timer, its next run, the last run and the metrics file.
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { HOST_PATHS } from "../config/settings.js";
import { DAY_MS } from "../policy/age.js";
import { METRICS, parseExposition } from "../run/metrics.js";
import { describeExit } from "../cli/exit-codes.js";
import { driftWarning, unitDrift } from "../host/prepare.js";
import { directoryProblem } from "../host/directories.js";
import { exists } from "../util/fs.js";
import type { DoctorContext } from "./checks.js";
import { finding, type Finding } from "./findings.js";
import { formatWhen, lastRunOf, parseShow, parseTimerList, SERVICE_PROPERTIES, type LastRun } from "./systemd-state.js";

const TIMER = "renew-certs.timer";
const SERVICE = "renew-certs.service";
const JOURNAL_FIX = "journalctl -u renew-certs -n 100 --no-pager";

/** The units: installed, made for the configuration file as it is now. */
export async function checkUnits(c: DoctorContext): Promise<Finding[]> {
  const units = [HOST_PATHS.serviceUnit, HOST_PATHS.timerUnit];
  const missing = [];
  for (const u of units) if (!(await exists(join(c.root, u)))) missing.push(u);
  if (missing.length > 0) return [finding("timer installed", "FAIL", `${missing.join(", ")} missing`, "renew-certs install")];
  const drift = await unitDrift(c.root, c.settings);
  const problem = directoryProblem(c.settings);
  const match = problem ? finding("units match the configuration", "FAIL", problem, `edit ${HOST_PATHS.configFile}, then renew-certs install`)
    : drift.unwritable.length > 0
    ? finding("units match the configuration", "FAIL", `${HOST_PATHS.serviceUnit} cannot write ${drift.unwritable.map((d) => `${d.path} (${d.setting})`).join(" and ")}: it was made for another configuration`, "renew-certs install")
    : drift.differing.length > 0
      ? finding("units match the configuration", "WARN", driftWarning(drift), "renew-certs install")
      : finding("units match the configuration", "OK", `made for ${HOST_PATHS.configFile} as it is now`);
  return [finding("timer installed", "OK", `${units.join(", ")} present`), match];
}

/** The timer: enabled, and when it runs next. Only where systemctl acts on this root. */
export async function checkTimer(c: DoctorContext): Promise<Finding[]> {
  if (!c.systemd.controls(c.root)) {
    return [finding("timer enabled", "SKIP", "not checked: --root is not / or systemd is not running here", `on the host: systemctl is-enabled ${TIMER}`)];
  }
  const enabled = await c.systemd.systemctl(["is-enabled", TIMER]);
  const out = [enabled.stdout.trim() === "enabled"
    ? finding("timer enabled", "OK", `${TIMER} is enabled`)
    : finding("timer enabled", "FAIL", `${TIMER} is ${enabled.stdout.trim() || "not enabled"}`, `systemctl enable --now ${TIMER}`)];
  const list = await c.systemd.systemctl(["list-timers", TIMER, "--all", "--no-pager", "-o", "json"]);
  const timer = parseTimerList(list.stdout);
  if (timer === undefined) {
    // An older systemctl without JSON output: its own row, which says the same in its words.
    const row = (await c.systemd.systemctl(["list-timers", TIMER, "--all", "--no-pager", "--no-legend"])).stdout.trim().split("\n")[0] ?? "";
    out.push(row && !/^n\/a/i.test(row) ? finding("next run", "OK", row.replace(/\s+/g, " ")) : finding("next run", "WARN", `${TIMER} has no next run scheduled`, `systemctl start ${TIMER}`));
  } else {
    out.push(timer.next
      ? finding("next run", "OK", formatWhen(timer.next, c.now))
      : finding("next run", "WARN", `${TIMER} has no next run scheduled (not started, or its schedule has no future time)`, `systemctl start ${TIMER}`));
  }
  return out;
}

/** The last run as systemd remembers it (since boot), or undefined when it does not. */
async function systemdLastRun(c: DoctorContext): Promise<LastRun | undefined> {
  if (!c.systemd.controls(c.root)) return undefined;
  const r = await c.systemd.systemctl(["show", SERVICE, "--timestamp=unix", ...SERVICE_PROPERTIES.flatMap((p) => ["-p", p])]);
  if (r.status !== 0) return undefined;
  const run = lastRunOf(parseShow(r.stdout));
  return run.state === "never" ? undefined : run;
}

/** The last run and its result (from systemd, else from the metrics file), and whether the metrics file is fresh. */
export async function checkLastRun(c: DoctorContext): Promise<Finding[]> {
  const out: Finding[] = [];
  const run = await systemdLastRun(c);
  if (run?.state === "running") out.push(finding("last run", "OK", `running now${run.since ? `, since ${formatWhen(run.since, c.now)}` : ""}`));
  else if (run?.state === "ended") {
    const when = run.at ? `${formatWhen(run.at, c.now)}: ` : "";
    out.push(run.ok ? finding("last run", "OK", `${when}${run.detail}`) : finding("last run", "FAIL", `${when}${run.detail}`, JOURNAL_FIX));
  }
  if (!c.settings.metricsFile) {
    return [...out, finding(out.length > 0 ? "metrics fresh" : "last run", "WARN", "metricsFile is empty in the configuration: no record of runs across reboots, and nothing for node_exporter", "journalctl -u renew-certs -n 50")];
  }
  const file = join(c.root, c.settings.metricsFile);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return [...out, finding(out.length > 0 ? "metrics fresh" : "last run", "WARN", `no metrics file ${file}: renew-certs has not run yet on this host`, "systemctl start renew-certs.service && journalctl -u renew-certs")];
  }
  const samples = parseExposition(text).samples;
  const value = (name: string): number | undefined => samples.find((s) => s.name === name)?.value;
  const at = value(METRICS.lastRun);
  const ok = value(METRICS.lastRunSuccess);
  const exit = value(METRICS.lastRunExitCode);
  if (at === undefined || ok === undefined) return [...out, finding(out.length > 0 ? "metrics fresh" : "last run", "WARN", `${file} has no last-run metrics`, "systemctl start renew-certs.service")];
  const when = formatWhen(new Date(at * 1000), c.now);
  // systemd forgets runs at reboot; the metrics file is the record that survives one.
  const failed = exit !== undefined && exit !== 0 ? `failed with ${describeExit(exit)}` : "failed";
  if (out.length === 0) out.push(ok === 1 ? finding("last run", "OK", `${when}: succeeded (from ${file})`) : finding("last run", "FAIL", `${when}: ${failed} (from ${file})`, JOURNAL_FIX));
  const age = c.now.getTime() - at * 1000;
  out.push(age > 2 * DAY_MS
    ? finding("metrics fresh", "WARN", `${file} was written ${when}: the timer has not run since`, `systemctl list-timers ${TIMER}; systemctl status renew-certs`)
    : finding("metrics fresh", "OK", `${file} written ${when}, recording a ${ok === 1 ? "successful" : "failed"} run`));
  return out;
}
