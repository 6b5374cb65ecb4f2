import { resolve } from "node:path";
import type { Command } from "../command.js";
import { str } from "../command.js";
import { RenewCertsError } from "../../errors.js";
import { runDoctor } from "../../doctor/doctor.js";
import { renderData } from "../format.js";
import { EXIT } from "../exit-codes.js";

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check the timer, the last run, ages, annotations and the served certificate; say what to fix",
  help: `Usage: renew-certs doctor [--root DIR] [-o table|json]

Checks, in the order an operator would, and prints OK / SKIP / WARN / FAIL with the
command that fixes each finding:
  units installed, and made for the configuration file as it is now
  timer enabled, next run                 (systemctl; skipped when --root is not /)
  last run and its result                 (systemd since boot, else the metrics file)
  metrics fresh                           (the node_exporter metrics file)
  certificate ages against the interval, and expiry
  CA days left                            (renew-certs ca renew re-signs them)
  manifests annotated, and each mirror pod's annotation equal to its manifest's
                                          (through the API with admin.conf)
  the API server serving the certificate on disk

Settings come from /etc/renew-certs/config.yaml under --root when present.
Exit code: 0 with no FAIL (WARN allowed), 10 with any FAIL.

Options:
  --root DIR       the host's root directory (default /)
  -o, --output F   table (default) or json
`,
  options: { root: { type: "string" }, output: { type: "string", short: "o" } },
  async run(args, io) {
    const output = str(args, "output") ?? "table";
    if (output !== "table" && output !== "json") throw new RenewCertsError("USAGE", `--output must be table or json (got ${output})`);
    const report = await runDoctor({ root: resolve(str(args, "root") ?? "/") });
    if (output === "json") {
      io.stdout(await renderData(report, "json"));
    } else {
      const color = io.isTTY && !io.env["NO_COLOR"];
      const paint = (s: string): string => !color ? s : s === "OK" ? `\u001b[32m${s}\u001b[0m` : s === "SKIP" ? `\u001b[90m${s}\u001b[0m` : s === "WARN" ? `\u001b[33m${s}\u001b[0m` : `\u001b[31m${s}\u001b[0m`;
      const w = Math.max(...report.findings.map((f) => f.check.length));
      for (const f of report.findings) {
        io.stdout(`${paint(f.severity.padEnd(4))}  ${f.check.padEnd(w)}  ${f.detail}\n${f.fix ? `      ${" ".repeat(w)}  fix: ${f.fix}\n` : ""}`);
      }
      io.stdout(`\ndoctor: ${paint(report.result)}\n`);
    }
    return report.result === "FAIL" ? EXIT.DOCTOR_FAIL : EXIT.OK;
  },
};
