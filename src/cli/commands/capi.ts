import { readFile } from "node:fs/promises";
import type { Command } from "../command.js";
import { str } from "../command.js";
import { fileError, RenewCertsError } from "../../errors.js";
import { parseAgent, parseInterval, parseSchedule } from "../../capi/options.js";
import { patchDocuments } from "../../capi/patch.js";
import { sourceName } from "../../capi/documents.js";

export const capiCommand: Command = {
  name: "capi",
  summary: "Cluster API: add certificate renewal to KubeadmControlPlane manifests",
  help: `Usage: renew-certs capi patch --certificate-renew-interval=DAYS [-f FILE|-]
                        [--agent preinstalled|url=URL,sha256=HEX] [--schedule CALENDAR]

Reads multi-document YAML (what "clusterctl generate cluster" writes) and writes it
to stdout with certificate renewal configured on every KubeadmControlPlane and
KubeadmControlPlaneTemplate (controlplane.cluster.x-k8s.io v1beta1 and v1beta2):
spec.kubeadmConfigSpec gets the renew-certs config file and systemd units in
"files", a preKubeadmCommands entry that provides the executable and a
postKubeadmCommands entry that enables renew-certs.timer. Only those lines change;
every other document, field and comment is kept. Running it again changes nothing.
Warnings go to stderr.

Options:
  --certificate-renew-interval=DAYS   renew certificates older than DAYS days (whole
                     number, at most 365); 0 removes what an earlier patch added
  -f, --file FILE    the manifests to read; "-" or no -f: stdin
  --agent A          how the executable reaches each host:
                     preinstalled (default): it is in the machine image at
                       /usr/local/bin/renew-certs; the bootstrap fails if it is not
                     url=https://…,sha256=HEX: downloaded before kubeadm runs, and
                       installed only if its sha256 matches (https only: it runs as root)
  --schedule CAL     the timer's systemd OnCalendar expression (default daily)

Example:
  clusterctl generate cluster my-cluster --kubernetes-version v1.32.0 \\
    | renew-certs capi patch --certificate-renew-interval=60 | kubectl apply -f -
`,
  options: {
    "certificate-renew-interval": { type: "string" },
    file: { type: "string", short: "f" },
    agent: { type: "string" },
    schedule: { type: "string" },
  },
  async run(args, io) {
    const [sub, ...extra] = args.positionals;
    if (sub !== "patch" || extra.length > 0) {
      throw new RenewCertsError("USAGE", `capi has one subcommand: renew-certs capi patch --certificate-renew-interval=DAYS [-f FILE]${sub && sub !== "patch" ? ` (got "${sub}")` : ""}`);
    }
    const intervalDays = parseInterval(str(args, "certificate-renew-interval"));
    const agent = parseAgent(str(args, "agent"));
    const schedule = parseSchedule(str(args, "schedule"));
    const file = str(args, "file");
    const source = file === undefined ? "-" : file;
    let text: string;
    try {
      text = source === "-" ? await io.readStdin() : await readFile(source, "utf8");
    } catch (e) {
      throw fileError(e, source, "manifest file");
    }
    const result = patchDocuments(text, { intervalDays, agent, ...(schedule !== undefined ? { schedule } : {}), source });
    for (const w of result.warnings) io.log.warn(w);
    if (result.controlPlanes.length === 0) io.log.warn(`no KubeadmControlPlane or KubeadmControlPlaneTemplate in ${sourceName(source)}: the manifests are written unchanged`);
    io.stdout(result.output);
    return 0;
  },
};
