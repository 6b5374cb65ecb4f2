import { writeFile } from "node:fs/promises";
import type { Command, CommandIO, ParsedArgs } from "../command.js";
import { bool, str } from "../command.js";
import { version } from "../run-main.js";
import { numericFlag, resolveSettings } from "../../config/load.js";
import { fileError, RenewCertsError } from "../../errors.js";
import { standaloneExecutable } from "../../host/binary.js";
import { realSystemd } from "../../host/systemd.js";
import { APP, deployObjects, HOST_ROOT, renderObjects, uninstallObjects, type DeployOptions } from "../../deploy/manifests.js";
import { installHost, terminationMessage, uninstallHost, type HostStepReport } from "../../deploy/host-step.js";
import { nsenterSystemd } from "../../deploy/host-systemd.js";
import { faultHook } from "../fault.js";

/** The image `npm run image` names by default. */
export const DEFAULT_IMAGE = "renew-certs:dev";

const HOST_OPTIONS = ["host-root", "config", "binary", "termination-log", "dry-run"];
const PRINT_OPTIONS = ["image", "namespace", "certificate-renew-interval", "schedule", "restart-mode", "uninstall"];

/** Refuses options of the other mode: printing manifests and the host steps take different ones. */
function onlyOptions(args: ParsedArgs, allowed: readonly string[], what: string): void {
  const other = Object.keys(args.values).filter((k) => args.values[k] !== undefined && !allowed.includes(k) && !["verbose", "log-format", "help"].includes(k));
  if (other.length > 0) throw new RenewCertsError("USAGE", `${what} does not take --${other.join(", --")}; see renew-certs deploy --help`);
}

/** The manifests for the flags given, checked: the settings by the configuration schema and, when it is installed, systemd-analyze. */
async function printManifests(args: ParsedArgs, io: CommandIO): Promise<number> {
  onlyOptions(args, PRINT_OPTIONS, "renew-certs deploy");
  const namespace = str(args, "namespace") ?? APP;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new RenewCertsError("USAGE", `--namespace ${JSON.stringify(namespace)} is not a Kubernetes namespace name: lower-case letters, digits and "-", at most 63 characters`);
  }
  const image = str(args, "image") ?? DEFAULT_IMAGE;
  if (image === "" || /\s/.test(image)) throw new RenewCertsError("USAGE", `--image ${JSON.stringify(image)} is not an image reference: give one such as renew-certs:dev or registry.example/renew-certs:0.1.0`);
  const schedule = str(args, "schedule");
  const settings = await resolveSettings({ flags: { certificateRenewInterval: numericFlag(str(args, "certificate-renew-interval")), schedule, restartMode: str(args, "restart-mode") } });
  if (schedule !== undefined) {
    const check = await realSystemd.checkCalendar(schedule);
    if (check.valid === false) throw new RenewCertsError("CONFIG", `--schedule ${JSON.stringify(schedule)} is not a systemd calendar expression (systemd-analyze: ${check.message}); use one such as daily, weekly or "*-*-* 03:00:00"`);
  }
  const o: DeployOptions = { image, namespace, settings, version: version() };
  if (bool(args, "uninstall")) {
    const header = `renew-certs ${o.version}: removes renew-certs from every node (units, executable, configuration; never certificates,
backups or state). This DaemonSet replaces the installing one of the same name, node by node. Then:
  kubectl rollout status daemonset/${APP} -n ${namespace}
  kubectl delete namespace ${namespace}`;
    io.stdout(renderObjects(uninstallObjects(o), header));
    return 0;
  }
  const header = `renew-certs ${o.version}: installs renew-certs on every control-plane node (image ${image}).
  renew-certs deploy … | kubectl apply -f -
  kubectl rollout status daemonset/${APP} -n ${namespace}`;
  io.stdout(renderObjects(deployObjects(o), header));
  return 0;
}

/** Runs the installer or uninstaller step against --host-root; the report goes to stdout and the termination log. */
async function hostStep(args: ParsedArgs, io: CommandIO, step: "install-host" | "uninstall-host"): Promise<number> {
  onlyOptions(args, step === "install-host" ? HOST_OPTIONS : HOST_OPTIONS.filter((k) => k !== "config" && k !== "binary"), `renew-certs deploy ${step}`);
  const hostRoot = str(args, "host-root") ?? HOST_ROOT;
  const logFile = str(args, "termination-log");
  const node = io.env["NODE_NAME"] ?? "";
  const report = async (text: string): Promise<void> => {
    if (logFile !== undefined) await writeFile(logFile, terminationMessage(text)).catch((e: unknown) => { throw fileError(e, logFile, "termination log"); });
  };
  const binary = str(args, "binary");
  const executable = binary ?? standaloneExecutable();
  const configFile = str(args, "config");
  const onStep = faultHook(io.env);
  const o = { hostRoot, systemd: nsenterSystemd(hostRoot), apply: !bool(args, "dry-run"), ...(onStep ? { onStep } : {}), ...(configFile !== undefined ? { configFile } : {}), ...(executable !== undefined ? { executable } : {}) };
  let r: HostStepReport;
  try {
    r = step === "install-host" ? await installHost(o, version(), node) : await uninstallHost(o, version(), node);
  } catch (e) {
    const why = e instanceof RenewCertsError ? e.message : `unexpected failure: ${(e as Error)?.message ?? String(e)}`;
    await report(`renew-certs ${version()}${node ? ` on node ${node}` : ""}: ${step} failed: ${why}\n`).catch(() => undefined);
    throw e;
  }
  const text = bool(args, "dry-run") && !r.unchanged ? `${r.message}dry run: nothing was written\n` : r.message;
  io.stdout(text);
  await report(text);
  return 0;
}

/** The pause container: does nothing until the pod is stopped. */
async function pause(args: ParsedArgs): Promise<number> {
  onlyOptions(args, [], "renew-certs deploy pause");
  await new Promise<void>((resolve) => {
    // A timer keeps the event loop alive; SIGTERM (the kubelet stopping the pod) ends it at once.
    const timer = setInterval(() => undefined, 2 ** 30);
    const stop = (): void => {
      clearInterval(timer);
      resolve();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}

export const deployCommand: Command = {
  name: "deploy",
  summary: "print the Kubernetes manifests that install renew-certs on every node of a running cluster",
  help: `Usage: renew-certs deploy [--image REF] [--namespace NS] [--certificate-renew-interval DAYS]
                          [--schedule CALENDAR] [--restart-mode all|minimal]
       renew-certs deploy --uninstall [--image REF] [--namespace NS]

Prints, for "kubectl apply -f -": a Namespace (pod security: privileged), a ConfigMap
holding the same config.yaml that "renew-certs install" writes, and a DaemonSet on every
node. Its init container installs or updates the executable, the systemd units and the
configuration on each control-plane node through the host's root directory, and runs the
host's systemctl (nsenter into PID 1); on worker nodes it installs nothing yet. Its other
container does nothing: "kubectl describe pod" shows what was done on that node (the init
container's termination message). The pod has no API credentials and no RBAC: the systemd
timer on each host does the work, even when the API server is down.

--uninstall prints a DaemonSet of the same name that removes the units, the executable and
the configuration from every node (never certificates, backups or state). Apply it over the
installing one, wait for "kubectl rollout status", then delete the namespace.

Run by the DaemonSet's containers (not by people):
  renew-certs deploy install-host --host-root DIR [--config FILE] [--termination-log FILE]
  renew-certs deploy uninstall-host --host-root DIR [--termination-log FILE]
  renew-certs deploy pause

Options:
  --image REF                         the image holding renew-certs (default ${DEFAULT_IMAGE}, what
                                      "npm run image" names)
  --namespace NS                      the namespace (default ${APP})
  --certificate-renew-interval DAYS   renew certificates older than DAYS (default 60; 0 disables)
  --schedule CALENDAR                 when the timer runs: a systemd OnCalendar expression (default daily)
  --restart-mode all|minimal          what a renewal restarts (default all)
  --uninstall                         print the manifests that remove renew-certs from every node
  --host-root DIR                     install-host, uninstall-host: the host's root (default ${HOST_ROOT})
  --config FILE                       install-host: the configuration to install (the ConfigMap's)
  --binary PATH                       install-host: the executable to install (default: the running one)
  --termination-log FILE              install-host, uninstall-host: also write the report there (≤ 4 KiB)
  --dry-run                           install-host, uninstall-host: print the plan, write nothing

Example:
  renew-certs deploy --image registry.example/renew-certs:0.1.0 | kubectl apply -f -
`,
  options: {
    image: { type: "string" },
    namespace: { type: "string" },
    "certificate-renew-interval": { type: "string" },
    schedule: { type: "string" },
    "restart-mode": { type: "string" },
    uninstall: { type: "boolean" },
    "host-root": { type: "string" },
    config: { type: "string" },
    binary: { type: "string" },
    "termination-log": { type: "string" },
    "dry-run": { type: "boolean" },
  },
  async run(args, io) {
    const [sub, ...extra] = args.positionals;
    if (extra.length > 0) throw new RenewCertsError("USAGE", `unexpected argument "${extra[0]}"; see renew-certs deploy --help`);
    if (sub === undefined) return printManifests(args, io);
    if (sub === "install-host" || sub === "uninstall-host") return hostStep(args, io, sub);
    if (sub === "pause") return pause(args);
    throw new RenewCertsError("USAGE", `unknown deploy step "${sub}": renew-certs deploy prints manifests; its steps are install-host, uninstall-host and pause`);
  },
};
