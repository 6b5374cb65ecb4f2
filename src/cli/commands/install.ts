import type { Command } from "../command.js";
import { bool, str } from "../command.js";
import { numericFlag } from "../../config/load.js";
import { HOST_PATHS } from "../../config/settings.js";
import { standaloneExecutable } from "../../host/binary.js";
import { planInstall } from "../../host/install.js";
import { applyPlan, isNoop, renderPlan } from "../../host/plan.js";
import { realSystemd } from "../../host/systemd.js";

export const installCommand: Command = {
  name: "install",
  summary: "install the systemd timer, service, configuration file and executable on this host",
  help: `Usage: renew-certs install [--root DIR] [--certificate-renew-interval DAYS]
                           [--schedule CALENDAR] [--binary PATH] [--no-enable] [--dry-run]

Writes ${HOST_PATHS.serviceUnit}, ${HOST_PATHS.timerUnit} and
${HOST_PATHS.configFile} (every setting of "renew-certs run", commented), installs
the executable at ${HOST_PATHS.binary}, then runs "systemctl daemon-reload" and
"systemctl enable --now renew-certs.timer". Prints the plan first. Running it again changes
only what differs: an existing configuration file keeps its values, flags override them.

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
  },
  async run(args, io) {
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
