import { stringify } from "yaml";
import { DEFAULT_SETTINGS, HOST_PATHS, type Settings } from "../config/settings.js";
import { SETTING_FIELDS, SETTING_NAMES, formatDefault } from "../config/schema.js";
import { readWritePaths } from "./directories.js";

/** One file renew-certs puts on a host: where, what, and its mode. */
export interface HostFile {
  /** Absolute host path (install prefixes --root). */
  path: string;
  content: string;
  mode: number;
}

/** Wraps text into "# " comment lines of at most `width` characters. */
function comment(text: string, width = 98): string {
  const lines: string[] = [];
  let line = "#";
  for (const word of text.split(/\s+/)) {
    if (line.length + 1 + word.length > width && line !== "#") {
      lines.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join("\n");
}

/**
 * The configuration file: every setting of `renew-certs run`, each with a comment saying what it
 * does and its default. The single source of these bytes for `install` and for `capi patch`.
 */
export function renderConfigFile(s: Settings): string {
  const head = `# renew-certs configuration, read by renew-certs.service:
#   ${HOST_PATHS.binary} run --config ${HOST_PATHS.configFile}
# Every key is optional (a missing one takes its default); flags of "renew-certs run" override
# this file. "renew-certs install" rewrites it, keeping the values (not edits to comments).
`;
  const body = SETTING_NAMES.map((k) => {
    const field = SETTING_FIELDS[k];
    const value = stringify({ [k]: s[k] }, { lineWidth: 0, indentSeq: false });
    return `${comment(field.description)}\n# Default: ${formatDefault(DEFAULT_SETTINGS[k])}\n${value}`;
  });
  return `${head}\n${body.join("\n")}`;
}

/** The service's TimeoutStartSec, in seconds: longer than everything a run may wait for. */
export function serviceTimeoutSeconds(s: Settings): number {
  // Each restarted manifest waits up to healthTimeoutSeconds, and a rollback waits as long again;
  // the restart Lease and the run lock may be waited for first; 300 s for renewing and backups.
  return s.healthTimeoutSeconds * (s.manifests.length + 1) * 2 + s.leaseWaitSeconds + s.lockTimeoutSeconds + 300;
}

/** renew-certs.service: the oneshot job the timer starts. */
export function renderServiceUnit(s: Settings): string {
  return `[Unit]
Description=Renew kubeadm control-plane certificates before they expire
# Renewing restarts the static pods through the kubelet and then checks their health.
After=kubelet.service network-online.target
Wants=network-online.target

[Service]
Type=oneshot
# First, outside the sandbox ("+"): create the directories the configuration says a run writes
# (backupDir, the metrics file's) when they are missing, because systemd drops a ReadWritePaths
# entry whose directory does not exist, and fail if this unit was made for other directories.
ExecStartPre=+${HOST_PATHS.binary} install --directories-only
ExecStart=${HOST_PATHS.binary} run --config ${HOST_PATHS.configFile}
# Longer than every health wait (each restarted component, and again on rollback), the lock and
# the restart Lease of the other control-plane hosts: systemd must never kill a run halfway.
TimeoutStartSec=${serviceTimeoutSeconds(s)}
SyslogIdentifier=renew-certs

# Hardening that does not get in the way of the job. It runs as root because it rewrites
# root-owned keys, keeping their owner (chown) and mode, and reads the CA keys.
# The file system is read-only except what a run writes: /etc/kubernetes (certificates,
# kubeconfigs, manifests), the state directory (backups), /run/renew-certs, the metrics directory
# and /root/.kube (the refreshed admin kubeconfig). "-": the ExecStartPre= above must start even
# when the directory is missing (it creates it); /root/.kube is only written when it exists.
ProtectSystem=strict
ReadWritePaths=${readWritePaths(s).join(" ")}
StateDirectory=renew-certs
StateDirectoryMode=0700
RuntimeDirectory=renew-certs
RuntimeDirectoryMode=0700
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectProc=invisible
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
# Load-bearing: Node.js calls pkey_alloc at start (V8's memory protection keys), which is not in
# @system-service. With EPERM the call fails and V8 does without; with the default action the
# kernel would kill the process (SIGSYS) before it logs a line. A system call a newer Node.js
# tries fails the same way instead of killing the run.
SystemCallErrorNumber=EPERM
# Network: the API server (health, the served certificate, the restart Lease) over IP; netlink
# because glibc's getaddrinfo (AI_ADDRCONFIG) asks the kernel which address families are up.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
# Not set, on purpose: MemoryDenyWriteExecute (the JavaScript engine compiles code at run time
# into executable memory), PrivateNetwork and IPAddressDeny (the API server must be reachable),
# PrivateUsers and DynamicUser (the keys belong to root and keep their owner), ProcSubset=pid
# (the runtime reads /proc/stat and /proc/meminfo).
`;
}

/** renew-certs.timer: starts the service on the schedule. */
export function renderTimerUnit(s: Settings): string {
  return `[Unit]
Description=Check kubeadm control-plane certificates and renew them when due

[Timer]
OnCalendar=${s.schedule}
# A delay fixed per host (FixedRandomDelay) spreads the control-plane hosts apart, so that they
# do not restart their API servers together; Persistent catches up on a run missed while down.
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
