import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command, ParsedArgs } from "../command.js";
import { bool, str } from "../command.js";
import { HOST_PATHS, type Settings } from "../../config/settings.js";
import { resolveSettings, numericFlag } from "../../config/load.js";
import { runJob } from "../../run/job.js";
import { dueSummary } from "../../policy/due.js";
import { kubeCoordinator } from "../../coordination/kube-coordinator.js";
import { faultHook, probeInterval } from "../fault.js";
import { nodeNameOf } from "../../kube/endpoint.js";
import { renderRunExitCodes } from "../exit-codes.js";
import { hostRole } from "../../worker/role.js";
import { runWorkerJob, summaryOf } from "../../worker/job.js";
import { writeNodeReport } from "../../report/node-report.js";

/** Settings for `run`: defaults < the config file < flags, every value checked. */
export async function runSettings(args: ParsedArgs): Promise<Settings> {
  // Without --config: the host's configuration file under --root when there is one, as status and doctor read it.
  const hostConfig = join(resolve(str(args, "root") ?? "/"), HOST_PATHS.configFile);
  const configFile = str(args, "config") ?? (existsSync(hostConfig) ? hostConfig : undefined);
  const settings = await resolveSettings({
    ...(configFile !== undefined ? { configFile } : {}),
    flags: { certificateRenewInterval: numericFlag(str(args, "certificate-renew-interval")), restartMode: str(args, "restart-mode"), fallbackAfterSeconds: numericFlag(str(args, "fallback-after-seconds")) },
  });
  return settings;
}

export const runCommand: Command = {
  name: "run",
  summary: "the scheduled job: renew when due, restart the control plane, prove health, roll back",
  help: `Usage: renew-certs run [--config FILE] [--root DIR] [--certificate-renew-interval DAYS]
                      [--restart-mode all|minimal] [--fallback-after-seconds S] [--dry-run]

What renew-certs.service runs on every control-plane host (on a worker node, a
host with kubelet.conf but no control-plane manifest and no CA key, it keeps the
node's CA certificate current instead: see "On a worker node" below):
  1. due?  when any renewable certificate is older than the interval, expires
     within the safety margin (default 30 days), or has expired. Not due: one
     log line (the oldest certificate, its age, the date it becomes due), exit 0.
     An interval of 0 disables renewal (one log line, exit 0). The static pod
     manifests are read and checked before anything is written.
     A due run whose kubelet does not answer its healthz (127.0.0.1:10248, or
     the address in /var/lib/kubelet/config.yaml) is refused before anything
     is written (exit 16): nothing could restart the control plane. Not when
     the run re-issues the kubelet's expired client certificate: it then
     restarts the kubelet itself.
     A certificate authority (ca, etcd-ca, front-proxy-ca) is due when it
     expires within caRenewBeforeDays (default 365) or has expired: kubeadm
     never renews them (10 years), and at their NotAfter the cluster stops.
  2. re-sign each due CA with its own key (same subject, key and key
     identifier: every leaf still chains to it, the join hash is unchanged;
     or adopt the certificate another control-plane host published in the
     cluster), then renew all certificates when they are due (as "renew-certs
     renew all"): one backup, one record. After a CA, what reads it only at
     start is restarted too: the controller manager, the scheduler and the
     kubelet for ca; etcd, then kube-apiserver, for etcd-ca. See "renew-certs
     ca --help" and docs/ca.md for what is left to do before the deadline.
  3. restart the control plane one component at a time, kube-apiserver first,
     by setting the annotation konvoy.d2iq.io/restartedAt in its static pod
     manifest. A component counts as restarted only once a NEW process is
     proven, by what each makes in memory at its start: kube-apiserver's
     loopback certificate (server name apiserver-loopback-client), the
     controller-manager's and scheduler's self-signed serving certificate; else
     its mirror pod (the annotation, a container started after the change,
     Ready), else the process table. Then health: kube-apiserver serves the
     renewed apiserver.crt and answers /livez with the renewed admin.conf; the
     others answer /healthz from the proven process. Every component is checked
     once more before the verdict.
     --restart-mode minimal (or restartMode: minimal in the config file) restarts
     only what cannot reload the renewed files: kube-controller-manager and
     kube-scheduler (their kubeconfigs embed their client certificates), and any
     component of a version not known to reload. kube-apiserver (v1.23 and later)
     is left running, so the API never goes down: the run proves it reloaded (a
     fresh connection gets the new apiserver.crt, /livez answers the renewed
     admin.conf, and its loopback certificate is unchanged: the same process);
     it is restarted instead when it has not reloaded in time, and once a year
     when its loopback certificate (made at its start) would expire before the
     next renewal. Each decision is logged with its reason. Default: all.
     A kubelet that does not replace the pod (after the certificates expired it
     logs "skipping delete because sources aren't ready yet": it has not
     reached the API server since it started): after fallbackAfterSeconds
     (default 60) without a new process, the reason is logged and the kubelet
     restarted (systemctl restart kubelet); after as long again, the old
     container is stopped (crictl stop). An expired kubelet client certificate
     (kubelet.conf's) is re-issued first, and the kubelet restarted.
  4. a component not proven new and healthy in time (healthTimeoutSeconds):
     every file is restored from the backup, the components restart onto the
     previous files and are proven the same way, exit 7 (8 when even that fails).
     A component the kubelet never replaced (stuck, or stopped during the run)
     is proven still the process from before the renewal, healthy on the
     restored files, and not waited for.
     Unless the previous certificates have expired (or expire within the
     safety margin): they would never work, so the renewed files stay, the run
     exits 15 with what is down, what was tried and what to run, and the next
     run resumes.
  5. refresh /root/.kube/config when it was a copy of the old admin.conf, write
     the metrics file for node_exporter.
Each step is recorded in /var/lib/renew-certs/job.json before its effect: a run
that is killed (crash, reboot, SIGKILL) is finished by the next one, which
completes the restarts, or completes the rollback and reports it (exit 7); until
then "renew-certs renew" refuses (exit 5), and status and doctor show where it
stopped. One run at a time per host (a lock under /var/lib/renew-certs/lock/).
With several control-plane hosts, only one restarts at a time: before step 3 it
takes the Lease kube-system/renew-certs through the local API server (and checks
that the other API servers are healthy); while another host holds it, it waits
(leaseWaitSeconds), then exits 9 with the restart left for the next run; a Lease
lost between two restarts stops it before the next one (exit 9, resumed later).
An unreachable API server (expired certificates, a single host) is logged and
the run proceeds without the Lease. Each outcome is an Event on the Node.

On a worker node: the cluster's CA certificate is read from kube-public/cluster-info
(anonymously, as kubeadm join does; on a hardened cluster from kube-root-ca.crt of
the renew-certs namespace, with the kubelet's own credentials) and taken only when
it has the key this node already trusts (the same SubjectPublicKeyInfo and subject,
self-signed by that key): the API server is verified by that key, so this works
after the node's own CA certificate has expired. When it is newer, pki/ca.crt and
kubelet.conf's CA data are written (backup, all or nothing), the kubelet is
restarted and proven back (healthz, and its Lease renewed after the restart);
else rolled back, never onto an expired CA certificate. docs/worker-nodes.md.

Options:
  --config FILE                     settings file (default <root>${HOST_PATHS.configFile} when it exists); flags override it
  --root DIR                        the host's root directory (default /)
  --certificate-renew-interval N    renew when certificates are N days old (0 disables)
  --restart-mode all|minimal        restart every component (all, the default), or only
                                    those that cannot reload their certificates (minimal)
  --fallback-after-seconds S        restart the kubelet when a restarted component shows
                                    no new process after S seconds, 1 to 3600 (default 60)
  --dry-run                         decide and show what would be renewed and restarted; write nothing

${renderRunExitCodes()}
Recovering a cluster whose certificates have expired (nothing answers on
6443), its CAs too: run "renew-certs run" once; it re-signs the CAs, renews,
restarts the kubelet where it is stuck, and proves every component on the
renewed certificates.
`,
  options: {
    config: { type: "string" },
    root: { type: "string" },
    "certificate-renew-interval": { type: "string" },
    "restart-mode": { type: "string" },
    "fallback-after-seconds": { type: "string" },
    "dry-run": { type: "boolean" },
  },
  async run(args, io) {
    const root = resolve(str(args, "root") ?? "/");
    const configured = await runSettings(args);
    const settings = { ...configured, nodeName: await nodeNameOf(root, configured.nodeName) };
    const onStep = faultHook(io.env);
    const intervalMs = probeInterval(io.env);
    // SIGTERM stops a run at its next wait or step (exit 17); a dry run writes nothing, so it ends as by default.
    const signal = bool(args, "dry-run") ? undefined : io.stopOnSigterm?.();
    // The role, once: a worker node keeps its CA current (src/worker); anything else is a control plane, as always.
    const role = await hostRole(root);
    if (role.role === "worker") {
      io.log.info(`this host is a worker node: ${role.why}`);
      const done = await runWorkerJob({
        root, settings, dryRun: bool(args, "dry-run"), log: io.log,
        ...(onStep ? { onStep } : {}), ...(intervalMs ? { intervalMs } : {}), ...(signal ? { signal } : {}),
        // Its report on its own Node, with the kubelet's credentials (src/report): never changes the exit code.
        report: async (r) => void (await writeNodeReport({ root, nodeName: settings.nodeName, role: "worker", exitCode: r.exitCode, now: r.at, log: io.log })),
      });
      io.stdout(`${summaryOf(done)}\n`);
      return 0;
    }
    io.log.debug(`this host is a control plane: ${role.why}`);
    const outcome = await runJob({
      root, settings, dryRun: bool(args, "dry-run"), log: io.log,
      progress: { isTTY: io.isTTY, write: io.stdout },
      coordinator: kubeCoordinator({ root, settings, log: io.log }),
      ...(onStep ? { onStep } : {}), ...(intervalMs ? { intervalMs } : {}), ...(signal ? { signal } : {}),
    });
    if (outcome.kind === "dry-run") {
      const cas = outcome.cas.length > 0 ? `would renew CA ${outcome.cas.join(", ")} with its own key, before the leaves\n` : "";
      io.stdout(`${outcome.decision.due ? `${dueSummary(outcome.decision, settings)}\n` : ""}${cas}` +
        `would renew ${outcome.renew.renewed.length} certificate(s): ${outcome.renew.renewed.map((r) => r.name).join(", ")}\n` +
        `would restart, in order: ${outcome.manifests.join(", ") || "nothing (no manifests found)"}${outcome.reloads.length > 0 ? `\nwould leave running and prove reloaded (restart mode minimal): ${outcome.reloads.join(", ")}` : ""}\n--dry-run: nothing was written\n`);
    } else if (outcome.kind === "renewed") {
      const proofs = outcome.steps.filter((s) => s.kind !== "reload").map((s) => `${s.component} (new process proven by its ${s.proven?.by ?? "?"})`).join(", ");
      const reloaded = outcome.steps.filter((s) => s.kind === "reload").map((s) => `${s.component} (${s.proven?.by === "reload" ? "reloaded, not restarted" : `restarted meanwhile, proven by its ${s.proven?.by ?? "?"}`})`).join(", ");
      const cas = outcome.cas.length > 0 ? `CA ${outcome.cas.join(", ")} and ` : "";
      io.stdout(`${outcome.resumed ? "finished the interrupted run: " : ""}renewed ${cas}${outcome.renewed.length} certificate(s); restarted ${proofs || "nothing"}${reloaded ? `; kept running ${reloaded}` : ""}; all healthy\n`);
    }
    return 0;
  },
};
