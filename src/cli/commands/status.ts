import type { Command } from "../command.js";
import { bool, str } from "../command.js";
import { RenewCertsError } from "../../errors.js";
import { join } from "node:path";
import { scanInventory, type Inventory } from "../../inventory/scan.js";
import { decideDue, renewableWindows, wouldRunSummary } from "../../policy/due.js";
import { DEFAULT_SETTINGS, HOST_PATHS, type Settings } from "../../config/settings.js";
import { exists } from "../../util/fs.js";
import { buildStatus } from "../../inventory/status.js";
import { renderData, renderStatusTable } from "../format.js";
import { LAYOUT } from "../../inventory/catalog.js";
import { kubeletClientDue } from "../../policy/kubelet-due.js";
import { forecastRefusal } from "../../renewal/forecast.js";
import { EXIT, exitCodeFor } from "../exit-codes.js";

/** The host's settings: its config file when there is one (loaded only then), else the defaults. */
async function hostSettings(root: string): Promise<{ settings: Settings; config: string | undefined }> {
  const configFile = join(root, HOST_PATHS.configFile);
  const config = (await exists(configFile)) ? configFile : undefined;
  // The schema validator is not needed without a config file.
  return { settings: config ? await (await import("../../config/load.js")).loadConfig(config) : DEFAULT_SETTINGS, config };
}

/** What `run` would decide now; `refusal` when it would refuse before its first write (its exit code). */
interface RunDecision {
  due: boolean; disabled: boolean; reasons: string[]; dueDate: string | undefined; interval: number; config: string | undefined; summary: string;
  refusal?: { code: string; exitCode: number; certificate: string; file: string };
}

/** What `run` would decide now, with the host's settings. */
function runDecision(inv: Inventory, now: Date, settings: Settings, config: string | undefined): RunDecision {
  const windows = renewableWindows(inv);
  const d = decideDue(windows, settings, now);
  // As run decides (run/decide.ts): an expired kubelet client certificate alone makes it due.
  const kubelet = d.disabled || d.due ? undefined : kubeletClientDue(inv, now, 0);
  // A due renewal that would be refused before its first write (a leaf that is a CA, exit 11; a CA
  // not valid now, exit 13…) is predicted as that refusal, not as "would renew".
  const found = d.due || kubelet?.due ? forecastRefusal(inv, now) : undefined;
  const refusal = found ? { code: found.code, exitCode: exitCodeFor(found.code), certificate: found.certificate, file: found.file } : undefined;
  const kubeletSummary = `renew ${windows.length} certificates now, for ${kubelet?.why} (the kubelet cannot rotate it without the API server), and re-issue it`;
  const refused = found && refusal ? `refuse to renew (exit ${refusal.exitCode}): ${found.text}` : undefined;
  const summary = refused ?? (kubelet?.due ? kubeletSummary : wouldRunSummary(d, settings, windows.length));
  return { due: d.due || kubelet?.due === true, disabled: d.disabled, reasons: kubelet?.due ? [kubelet.why] : d.reasons.map((r) => r.text), dueDate: d.dueDate?.toISOString(), interval: settings.certificateRenewInterval, config, summary, ...(refusal ? { refusal } : {}) };
}

/** Whether each configured component runs the certificates on disk, and how that is known (doctor's check, short timeouts). */
async function componentStates(root: string, inv: Inventory, now: Date, settings: Settings): Promise<{ component: string; runsFilesOnDisk: "yes" | "no" | "unknown"; detail: string }[]> {
  if (!(await exists(join(root, LAYOUT.manifestsDir)))) return [];
  // Loaded only when there are manifests to look at: status stays light.
  const { checkRunning } = await import("../../doctor/running.js");
  const { servedIdentity } = await import("../../kube/tls.js");
  const tls = (e: { host: string; port: number }, servername?: string) => servedIdentity(e, { timeoutMs: 1000, ...(servername ? { servername } : {}) }).catch(() => undefined);
  const findings = await checkRunning({ root, settings, inv, now, tls });
  return findings.map((f) => ({
    component: f.check.replace(/ runs the files on disk$/, ""),
    // A warning that starts "it serves" is kube-apiserver on the files, with its loopback certificate about to expire.
    runsFilesOnDisk: f.severity === "OK" || /^it serves /.test(f.detail) ? "yes" : f.severity === "FAIL" ? "no" : "unknown",
    detail: f.detail,
  }));
}

/** Each CA's renewal state (src/ca/status.ts): due date, last renewal, deadline. */
interface CaRenewal { ca: string; notAfter: string; renewalDue: string; due: boolean; externallyManaged: boolean; renewedAt?: string; deadline?: string }

async function caRenewals(root: string, now: Date, settings: Settings): Promise<CaRenewal[]> {
  const { caStatus } = await import("../../ca/status.js");
  return (await caStatus(root, now, settings.caRenewBeforeDays)).map((c) => ({
    ca: c.ca, notAfter: c.notAfter, renewalDue: c.renewalDue, due: c.due, externallyManaged: c.externallyManaged,
    ...(c.renewedAt ? { renewedAt: c.renewedAt } : {}), ...(c.deadline ? { deadline: c.deadline } : {}),
  }));
}

/** What run would do, with the CAs it would re-sign first. */
function withCas(summary: string, leavesDue: boolean, cas: CaRenewal[]): string {
  const due = cas.filter((c) => c.due && !c.externallyManaged).map((c) => c.ca);
  if (due.length === 0) return summary;
  const first = `re-sign CA ${due.join(", ")} with its own key (within caRenewBeforeDays of its expiry, or expired)`;
  return leavesDue ? `${first}, then ${summary}` : `${first} and restart what reads it at start; the leaves are not due`;
}

function renderCaRenewals(rows: CaRenewal[]): string {
  if (rows.length === 0) return "";
  const day = (iso: string): string => iso.slice(0, 10);
  const line = (c: CaRenewal): string => {
    const state = c.externallyManaged ? "external CA: no key on this host" : c.due ? "renewal DUE: the next run re-signs it" : `renewal due ${day(c.renewalDue)}`;
    const renewed = c.renewedAt ? `; renewed ${day(c.renewedAt)}, deadline ${day(c.deadline!)} (everything else must trust the new certificate by then)` : "";
    return `${c.ca.padEnd(15)} expires ${day(c.notAfter)}; ${state}${renewed}`;
  };
  return `\nCA RENEWAL (renew-certs ca status shows every trust location)\n${rows.map(line).join("\n")}\n`;
}

function renderComponents(rows: { component: string; runsFilesOnDisk: string; detail: string }[]): string {
  if (rows.length === 0) return "";
  const w = Math.max(...rows.map((r) => r.component.length), "COMPONENT".length);
  return `\n${"COMPONENT".padEnd(w)}  ON DISK  HOW IT IS KNOWN\n${rows.map((r) => `${r.component.padEnd(w)}  ${r.runsFilesOnDisk.padEnd(7)}  ${r.detail}`).join("\n")}\n`;
}

export const statusCommand: Command = {
  name: "status",
  summary: "show every kubeadm certificate, its expiry, residual time and age",
  help: `Usage: renew-certs status [--root DIR] [-o table|json|yaml]
       renew-certs status --cluster [--kubeconfig FILE] [--root DIR] [--stale-after DAYS] [-o table|json]

Lists every certificate and kubeconfig kubeadm manages on this host, like
"kubeadm certs check-expiration", plus the age of each certificate, then the
certificate authorities, then, for each control-plane component, whether it
runs the certificates on disk and how that is known (the certificate it serves
on a fresh connection; for the controller manager and the scheduler, the start
their self-signed serving certificate names), and when kube-apiserver's
loopback certificate forces its next restart. Nothing is written.

With --cluster: every node of the cluster, from the report each host's last
run wrote on its Node (annotations renew-certs.konvoy.d2iq.io/*): role, last
run, result, oldest certificate expiry, whether it trusts the current CA, and
its kubelet client certificate's expiry. Then the CA deadline and the nodes
that would break at it: no report, a report older than --stale-after days, or
an old CA. It reads through admin.conf under --root, or --kubeconfig (a
workstation's kubeconfig, with a client certificate or a token, that may list
Nodes). Exit 0 when no node is at risk, 20 when one is: a cron or CI job can
alert on it (docs/cluster-view.md).

Options:
  --root DIR       the host's root directory (default /); a sandbox or a mounted disk
  -o, --output F   table (default), json or yaml; json/yaml carry kubeadm's
                   CertificateExpirationInfo fields (residualTime in seconds) plus age and
                   files, and "run": what "renew-certs run" would decide now (with the
                   host's /etc/renew-certs/config.yaml when present, else the defaults;
                   "refusal", with its code and exit code, when it would refuse to renew),
                   and "components", as above
  --cluster        every node's report instead of this host's certificates (see above)
  --kubeconfig F   with --cluster: read the cluster through F instead of admin.conf
  --stale-after D  with --cluster: a report older than D days is stale (default 2:
                   the timer runs daily)

Examples:
  renew-certs status
  renew-certs status --root /tmp/sandbox -o json
  renew-certs status --cluster
  renew-certs status --cluster --kubeconfig ~/.kube/config -o json || alert
`,
  options: {
    root: { type: "string" }, output: { type: "string", short: "o" },
    cluster: { type: "boolean" }, kubeconfig: { type: "string" }, "stale-after": { type: "string" },
  },
  async run(args, io) {
    const output = str(args, "output") ?? "table";
    if (bool(args, "cluster")) return clusterStatus(args, io, output);
    if (str(args, "kubeconfig") !== undefined || str(args, "stale-after") !== undefined) {
      throw new RenewCertsError("USAGE", "--kubeconfig and --stale-after go with --cluster");
    }
    if (output !== "table" && output !== "json" && output !== "yaml") {
      throw new RenewCertsError("USAGE", `--output must be table, json or yaml (got ${output})`);
    }
    const root = str(args, "root") ?? "/";
    const inv = await scanInventory(root);
    const now = new Date();
    const { settings, config } = await hostSettings(root);
    const report = buildStatus(inv, now, settings.safetyMarginDays);
    const run = runDecision(inv, now, settings, config);
    // An unfinished run comes first for the next run: say so instead of what it would decide.
    // (loaded only when a record is there: status stays light)
    const stateDir = join(root, LAYOUT.stateDir);
    const pending = (await exists(join(stateDir, "job.json"))) || (await exists(join(stateDir, "pending-restart.json")));
    const state = pending ? await import("../../run/state.js") : undefined;
    const record = state ? await (await import("../../renewal/intent.js")).readRecord(stateDir) : undefined;
    const described = record && state ? state.describeJob(record) : undefined;
    // A record whose run is still alive (it holds the lock) is a run in progress, not one that stopped.
    const running = described ? await (await import("../../renewal/lock.js")).lockHolders(join(stateDir, "lock")) : [];
    const interrupted = described ? { ...described, ...(running.length ? { runningPids: running } : {}) } : undefined;
    const components = await componentStates(root, inv, now, settings);
    const cas = await caRenewals(root, now, settings);
    if (!run.refusal && !run.disabled) run.summary = withCas(run.summary, run.due, cas);
    if (output === "table") {
      const color = io.isTTY && !io.env["NO_COLOR"];
      const next = interrupted?.runningPids
        ? `a run is in progress (pid ${interrupted.runningPids.join(", ")}): ${interrupted.state}`
        : interrupted ? `interrupted run: the last run stopped while ${interrupted.state}; the next run will ${interrupted.next}` : `renew-certs run would ${run.summary}`;
      io.stdout(renderStatusTable(report, { color, bars: io.isTTY }) + renderComponents(components) + renderCaRenewals(cas) + `\n${next}\n`);
    } else {
      io.stdout(await renderData({ ...report, run, components, caRenewals: cas, ...(interrupted ? { interrupted } : {}) }, output));
    }
    return 0;
  },
};

/** `status --cluster`: every node's report and who would break at the CA deadline (src/report). */
async function clusterStatus(args: Parameters<Command["run"]>[0], io: Parameters<Command["run"]>[1], output: string): Promise<number> {
  if (output !== "table" && output !== "json" && output !== "yaml") throw new RenewCertsError("USAGE", `--output must be table, json or yaml (got ${output})`);
  const staleText = str(args, "stale-after");
  const staleAfterDays = staleText === undefined ? undefined : Number(staleText);
  if (staleAfterDays !== undefined && !(Number.isFinite(staleAfterDays) && staleAfterDays > 0)) {
    throw new RenewCertsError("USAGE", `--stale-after must be a number of days above 0 (got ${staleText})`);
  }
  const { readCluster } = await import("../../report/cluster-read.js");
  const view = await import("../../report/cluster-view.js");
  const kubeconfig = str(args, "kubeconfig");
  const v = await readCluster({ root: str(args, "root") ?? "/", now: new Date(), ...(kubeconfig ? { kubeconfig } : {}), ...(staleAfterDays ? { staleAfterDays } : {}) });
  io.stdout(output === "table" ? view.renderClusterView(v) : await renderData(view.clusterViewData(v), output));
  return view.atRisk(v).length > 0 ? EXIT.NODES_AT_RISK : EXIT.OK;
}
