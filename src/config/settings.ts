/**
 * Every setting of `renew-certs run`, with its default. The configuration file
 * (/etc/renew-certs/config.yaml) holds the same keys; flags override the file.
 */
export interface Settings {
  /** Renew when any certificate is older than this many days; 0 disables renewal. Default 60. */
  certificateRenewInterval: number;
  /** Also renew when any certificate expires within this many days. Default 30. */
  safetyMarginDays: number;
  /** Validity of renewed certificates, in days. Default 365 (kubeadm's). */
  validityDays: number;
  /** Re-sign a CA with its own key when it expires within this many days (or has expired). Default 365. */
  caRenewBeforeDays: number;
  /** Validity of a re-signed CA certificate, in days. Default 3650 (kubeadm's). */
  caValidityDays: number;
  /** systemd OnCalendar expression of the timer. Default "daily". */
  schedule: string;
  /** systemd RandomizedDelaySec of the timer, in seconds. Default 3600. */
  randomizedDelaySeconds: number;
  /** Static pod manifests to restart, by base name, in order (kube-apiserver first). */
  manifests: string[];
  /** The annotation set to the restart time. Default "konvoy.d2iq.io/restartedAt". */
  annotationKey: string;
  /** How long to wait for each restarted component to become healthy, in seconds. Default 300. */
  healthTimeoutSeconds: number;
  /** How long a restarted component may stay unproven before the kubelet fallbacks, in seconds. Default 60. */
  fallbackAfterSeconds: number;
  /** Where backups go (a host path, under --root). Default /var/lib/renew-certs/backups. */
  backupDir: string;
  /** How many backups to keep. Default 10. */
  backupsKept: number;
  /** Prometheus text file for node_exporter's textfile collector ("" disables). */
  metricsFile: string;
  /** How long a second run waits for the lock, in seconds. Default 60. */
  lockTimeoutSeconds: number;
  /** Node name for the Lease and Events; default: the host name. */
  nodeName: string;
  /** How long to wait for another host's restart Lease, in seconds. Default 900. */
  leaseWaitSeconds: number;
  /** Refresh /root/.kube/config when it was a copy of the old admin.conf. Default true. */
  refreshRootKubeconfig: boolean;
  /** "all" restarts every configured component after a renewal; "minimal" only those that cannot reload. Default "all". */
  restartMode: RestartMode;
}

/** How a run brings the control plane onto renewed certificates (see src/run/reload-policy.ts). */
export type RestartMode = "all" | "minimal";

/** The defaults of every setting (nodeName is filled from the host name at run time). */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  certificateRenewInterval: 60,
  safetyMarginDays: 30,
  validityDays: 365,
  caRenewBeforeDays: 365,
  caValidityDays: 3650,
  schedule: "daily",
  randomizedDelaySeconds: 3600,
  manifests: ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"],
  annotationKey: "konvoy.d2iq.io/restartedAt",
  healthTimeoutSeconds: 300,
  fallbackAfterSeconds: 60,
  backupDir: "/var/lib/renew-certs/backups",
  backupsKept: 10,
  metricsFile: "/var/lib/node_exporter/textfile_collector/renew_certs.prom",
  lockTimeoutSeconds: 60,
  nodeName: "",
  leaseWaitSeconds: 900,
  refreshRootKubeconfig: true,
  restartMode: "all",
});

/** Host paths renew-certs installs to (under --root). */
export const HOST_PATHS = {
  configFile: "/etc/renew-certs/config.yaml",
  serviceUnit: "/etc/systemd/system/renew-certs.service",
  timerUnit: "/etc/systemd/system/renew-certs.timer",
  binary: "/usr/local/bin/renew-certs",
} as const;
