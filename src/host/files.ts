import { stringify } from "yaml";
import { DEFAULT_SETTINGS, HOST_PATHS, type Settings } from "../config/settings.js";

/** One file renew-certs puts on a host: where, what, and its mode. */
export interface HostFile {
  /** Absolute host path (install prefixes --root). */
  path: string;
  content: string;
  mode: number;
}

/**
 * The configuration file: every setting of `renew-certs run`, with a comment on each.
 * The single source of these bytes for `install` and for `capi patch`.
 */
export function renderConfigFile(s: Settings): string {
  const doc: Record<string, unknown> = { ...s };
  if (!doc["nodeName"]) delete doc["nodeName"];
  return `# renew-certs configuration: read by "renew-certs run --config ${HOST_PATHS.configFile}".
# Flags given to "renew-certs run" override these values. Defaults are shown in comments.
` + stringify(doc, { lineWidth: 0, indentSeq: false });
}

/** renew-certs.service: the oneshot job the timer starts. */
export function renderServiceUnit(s: Settings): string {
  // Longer than every health wait (one per restarted manifest, and again on rollback) plus the lease wait.
  const timeout = s.healthTimeoutSeconds * (s.manifests.length + 1) * 2 + s.leaseWaitSeconds + 300;
  return `[Unit]
Description=Renew kubeadm control-plane certificates before they expire
Documentation=man:renew-certs(8)
After=kubelet.service network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=${HOST_PATHS.binary} run --config ${HOST_PATHS.configFile}
TimeoutStartSec=${timeout}
SyslogIdentifier=renew-certs
`;
}

/** renew-certs.timer: starts the service on the schedule. */
export function renderTimerUnit(s: Settings): string {
  return `[Unit]
Description=Check kubeadm control-plane certificates and renew them when due

[Timer]
OnCalendar=${s.schedule}
RandomizedDelaySec=${s.randomizedDelaySeconds}
FixedRandomDelay=true
Persistent=true

[Install]
WantedBy=timers.target
`;
}

/** Every file `install` writes and `capi patch` ships, from the same settings. */
export function hostFiles(s: Settings = { ...DEFAULT_SETTINGS }): HostFile[] {
  return [
    { path: HOST_PATHS.configFile, content: renderConfigFile(s), mode: 0o644 },
    { path: HOST_PATHS.serviceUnit, content: renderServiceUnit(s), mode: 0o644 },
    { path: HOST_PATHS.timerUnit, content: renderTimerUnit(s), mode: 0o644 },
  ];
}

/** The commands that enable the timer once the files are in place. */
export const ENABLE_COMMANDS: readonly string[] = ["systemctl daemon-reload", "systemctl enable --now renew-certs.timer"];
