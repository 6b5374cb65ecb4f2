import type { Command } from "../command.js";
import { str } from "../command.js";
import { RenewCertsError } from "../../errors.js";
import { scanInventory } from "../../inventory/scan.js";
import { buildStatus } from "../../inventory/status.js";
import { renderData, renderStatusTable } from "../format.js";

export const statusCommand: Command = {
  name: "status",
  summary: "show every kubeadm certificate, its expiry, residual time and age",
  help: `Usage: renew-certs status [--root DIR] [-o table|json|yaml]

Lists every certificate and kubeconfig kubeadm manages on this host, like
"kubeadm certs check-expiration", plus the age of each certificate, then the
certificate authorities. Nothing is written.

Options:
  --root DIR       the host's root directory (default /); a sandbox or a mounted disk
  -o, --output F   table (default), json or yaml; json/yaml carry kubeadm's
                   CertificateExpirationInfo fields (residualTime in seconds) plus age and files

Examples:
  renew-certs status
  renew-certs status --root /tmp/sandbox -o json
`,
  options: { root: { type: "string" }, output: { type: "string", short: "o" } },
  async run(args, io) {
    const output = str(args, "output") ?? "table";
    if (output !== "table" && output !== "json" && output !== "yaml") {
      throw new RenewCertsError("USAGE", `--output must be table, json or yaml (got ${output})`);
    }
    const inv = await scanInventory(str(args, "root") ?? "/");
    const report = buildStatus(inv, new Date());
    if (output === "table") {
      const color = io.isTTY && !io.env["NO_COLOR"];
      io.stdout(renderStatusTable(report, { color, bars: io.isTTY }));
    } else {
      io.stdout(renderData(report, output));
    }
    return 0;
  },
};
