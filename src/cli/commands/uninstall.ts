import type { Command } from "../command.js";
import { bool, str } from "../command.js";
import { HOST_PATHS } from "../../config/settings.js";
import { applyPlan, isNoop, renderPlan } from "../../host/plan.js";
import { planUninstall } from "../../host/uninstall.js";
import { realSystemd } from "../../host/systemd.js";

export const uninstallCommand: Command = {
  name: "uninstall",
  summary: "disable the timer and remove the units and the configuration file",
  help: `Usage: renew-certs uninstall [--root DIR] [--dry-run]

Runs "systemctl disable --now renew-certs.timer", removes ${HOST_PATHS.serviceUnit},
${HOST_PATHS.timerUnit} and ${HOST_PATHS.configFile}, then runs
"systemctl daemon-reload". Prints the plan first. A run in progress is left to finish.

Never touches the certificates, kubeconfigs, static pod manifests or backups. The executable
${HOST_PATHS.binary} is kept too: remove it by hand if no longer wanted.

Options:
  --root DIR   the host's root directory (default /); systemctl is run only for / with systemd running
  --dry-run    print the plan and write nothing
`,
  options: { root: { type: "string" }, "dry-run": { type: "boolean" } },
  async run(args, io) {
    const plan = await planUninstall({ root: str(args, "root") ?? "/", systemd: realSystemd });
    io.stdout(`renew-certs uninstall from ${plan.root}\n`);
    if (isNoop(plan)) {
      io.stdout(`no change: renew-certs is not installed in ${plan.root}\n`);
      return 0;
    }
    io.stdout(renderPlan(plan));
    if (bool(args, "dry-run")) {
      io.stdout("dry run: nothing was removed\n");
      return 0;
    }
    await applyPlan(plan, realSystemd, { done: "the files are removed; run systemctl daemon-reload" });
    io.stdout("uninstalled\n");
    return 0;
  },
};
