import type { Command, CommandIO, ParsedArgs } from "../command.js";
import { bool, str } from "../command.js";
import { numericFlag } from "../../config/load.js";
import { HOST_PATHS } from "../../config/settings.js";
import { standaloneExecutable } from "../../host/binary.js";
import { planInstall } from "../../host/install.js";
import { applyPlan, isNoop, renderPlan } from "../../host/plan.js";
import { realSystemd } from "../../host/systemd.js";
import { driftWarning, prepareDirectories } from "../../host/prepare.js";
import { RenewCertsError } from "../../errors.js";

/** `install --directories-only`: the service's ExecStartPre=+ (see host/prepare.ts). */
async function directoriesOnly(args: ParsedArgs, io: CommandIO): Promise<number> {
  const other = Object.keys(args.values).filter((k) => !["directories-only", "root", "verbose", "log-format"].includes(k));
  if (other.length > 0) throw new RenewCertsError("USAGE", `--directories-only takes no other option than --root (got --${other.join(", --")})`);
  const { created, drift } = await prepareDirectories({ root: str(args, "root") ?? "/" });
  for (const c of created) io.log.info(`created ${c.path} (${c.mode.toString(8).padStart(4, "0")}): a run writes into it`);
  if (drift.differing.length > 0) io.log.warn(driftWarning(drift));
  return 0;
}

export const installCommand: Command = {
  name: "install",
  summary: "install the systemd timer, service, configuration file and executable on this host",
  help: `Usage: renew-certs install [--root DIR] [--certificate-renew-interval DAYS]
                           [--schedule CALENDAR] [--binary PATH] [--no-enable] [--dry-run]
       renew-certs install --directories-only [--root DIR]

Writes ${HOST_PATHS.serviceUnit}, ${HOST_PATHS.timerUnit} and
${HOST_PATHS.configFile} (every setting of "renew-certs run", commented), installs
the executable at ${HOST_PATHS.binary}, creates the directories a run writes (backupDir,
the metrics file's), then runs "systemctl daemon-reload" and
"systemctl enable --now renew-certs.timer". Prints the plan first. Running it again changes
only what differs: an existing configuration file keeps its values, flags override them.
After editing backupDir, metricsFile, schedule or a timeout in the configuration file, run
it again: the units are made from those settings.

--directories-only is what renew-certs.service runs before every run (ExecStartPre=+): it
creates the directories the configuration file names when they are missing, and fails (exit 3)
when the installed service was made for other directories, which it could not write.

systemctl is run only when --root is / and systemd is running; otherwise (a container, an image
build, a mounted disk) the commands to run are printed instead.

Options:
  --root DIR                            the host's root directory (default /)
  --certificate-renew-interval DAYS     renew certificates older than DAYS (default 60; 0 disables)
  --schedule CALENDAR                   when the timer runs: a systemd OnCalendar expression
                                        (default daily; checked with systemd-analyze calendar)
  --binary PATH                         the standalone executable to install (default: the running
                                        one; needed when renew-certs runs under node)
  --no-enable                           write the files but do not enable the timer
  --dry-run                             print the plan and write nothing
  --directories-only                    only create the directories a run writes, and check the unit

Examples:
  sudo ./renew-certs install --certificate-renew-interval 60
  renew-certs install --root /mnt/image --binary dist/renew-certs --schedule "*-*-* 03:00:00"
`,
  options: {
    root: { type: "string" },
    "certificate-renew-interval": { type: "string" },
    schedule: { type: "string" },
    binary: { type: "string" },
    "no-enable": { type: "boolean" },
    "dry-run": { type: "boolean" },
    "directories-only": { type: "boolean" },
  },
  async run(args, io) {
    if (bool(args, "directories-only")) return directoriesOnly(args, io);
    const binary = str(args, "binary");
    const plan = await planInstall({
      root: str(args, "root") ?? "/",
      flags: { certificateRenewInterval: numericFlag(str(args, "certificate-renew-interval")), schedule: str(args, "schedule") },
      ...(binary !== undefined ? { binary } : {}),
      selfExecutable: standaloneExecutable(),
      enable: !bool(args, "no-enable"),
      systemd: realSystemd,
    });
    const s = plan.settings;
    const when = plan.nextElapse ? `; next check ${plan.nextElapse}, plus a delay of up to ${s.randomizedDelaySeconds} s` : "";
    io.stdout(`renew-certs install into ${plan.root} (certificateRenewInterval ${s.certificateRenewInterval} days, schedule ${s.schedule}${when})\n`);
    io.stdout(renderPlan(plan));
    if (isNoop(plan)) {
      io.stdout("no change: renew-certs is already installed as asked\n");
      return 0;
    }
    if (bool(args, "dry-run")) {
      io.stdout("dry run: nothing was written\n");
      return 0;
    }
    await applyPlan(plan, realSystemd, { done: "the files are installed; fix the problem and run renew-certs install again" });
    io.stdout("installed\n");
    return 0;
  },
};
