import type { Settings } from "./settings.js";

/** What one setting is for people (config file comments, docs/configuration.md) and what a valid value looks like. */
export interface SettingField {
  /** What the setting does, one sentence, with its unit. */
  description: string;
  /** What a valid value is, completing "must be …" in error messages. */
  expect: string;
  /** The JSON schema of the value. */
  schema: Record<string, unknown>;
}

const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = `${DNS_LABEL}(\\.${DNS_LABEL})*`;
const wholeNumber = (min: number): Record<string, unknown> => ({ type: "integer", minimum: min });

/**
 * Every setting of `renew-certs run`, in the order of the configuration file. The one place that
 * describes them: the JSON schema, the comments of /etc/renew-certs/config.yaml and error messages.
 */
export const SETTING_FIELDS: { readonly [K in keyof Settings]: SettingField } = {
  certificateRenewInterval: {
    description: "Renew when any certificate is older than this many days; 0 disables renewal.",
    expect: "a whole number of days, 0 or more",
    schema: wholeNumber(0),
  },
  safetyMarginDays: {
    description: "Also renew when any certificate expires within this many days (or has expired).",
    expect: "a whole number of days, 0 or more",
    schema: wholeNumber(0),
  },
  validityDays: {
    description: "Validity of renewed certificates, in days (never past their CA's expiry).",
    expect: "a whole number of days, 1 or more",
    schema: wholeNumber(1),
  },
  schedule: {
    description: "When the timer checks the certificates: a systemd OnCalendar expression (see systemd.time(7); check one with systemd-analyze calendar).",
    expect: "a systemd calendar expression such as daily or *-*-* 03:00:00",
    schema: { type: "string", minLength: 1, pattern: "^[^\\n]+$" },
  },
  randomizedDelaySeconds: {
    description: "Random delay added to the schedule, in seconds, fixed per host, so that control-plane hosts do not restart together.",
    expect: "a whole number of seconds, 0 or more",
    schema: wholeNumber(0),
  },
  manifests: {
    description: "Static pod manifests (in /etc/kubernetes/manifests, by base name) restarted after a renewal, in this order; a missing one is skipped. etcd reloads its certificates by itself and is opt-in.",
    expect: "a list of manifest base names such as kube-apiserver",
    schema: { type: "array", items: { type: "string", pattern: `^${DNS_LABEL}$` }, uniqueItems: true },
  },
  annotationKey: {
    description: "Annotation set to the restart time (unix seconds) on each restarted manifest's pod.",
    expect: "a Kubernetes annotation key such as konvoy.d2iq.io/restartedAt",
    schema: { type: "string", pattern: `^(${DNS_SUBDOMAIN}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$` },
  },
  healthTimeoutSeconds: {
    description: "How long to wait for each restarted component to become healthy, in seconds, before restoring the previous files.",
    expect: "a whole number of seconds, 1 or more",
    schema: wholeNumber(1),
  },
  fallbackAfterSeconds: {
    description: "How long a restarted component may go without a new process before renew-certs restarts the kubelet (and, after as long again, stops the old container), in seconds.",
    expect: "a whole number of seconds, 1 or more",
    schema: wholeNumber(1),
  },
  backupDir: {
    description: "Where the backup taken before each renewal goes (a host path, mode 0700).",
    expect: "an absolute path",
    schema: { type: "string", pattern: "^/" },
  },
  backupsKept: {
    description: "How many backups to keep; older ones are removed.",
    expect: "a whole number, 1 or more",
    schema: wholeNumber(1),
  },
  metricsFile: {
    description: "Prometheus text file for node_exporter's textfile collector; \"\" disables it.",
    expect: "an absolute path ending in .prom, or \"\"",
    schema: { type: "string", pattern: "^(/.*\\.prom)?$" },
  },
  lockTimeoutSeconds: {
    description: "How long a second run waits for the lock held by another, in seconds.",
    expect: "a whole number of seconds, 0 or more",
    schema: wholeNumber(0),
  },
  nodeName: {
    description: "This node's name, for the restart Lease and the pod names; \"\" means the host name.",
    expect: "a lowercase DNS name, or \"\"",
    schema: { type: "string", pattern: `^(${DNS_SUBDOMAIN})?$` },
  },
  leaseWaitSeconds: {
    description: "How long to wait for another control-plane host's restart Lease, in seconds.",
    expect: "a whole number of seconds, 0 or more",
    schema: wholeNumber(0),
  },
  refreshRootKubeconfig: {
    description: "Refresh /root/.kube/config when it was a copy of the old admin.conf.",
    expect: "true or false",
    schema: { type: "boolean" },
  },
  restartMode: {
    description: "all: restart every component in manifests after a renewal; minimal: restart only those that cannot reload their certificates (by component and version) and prove the reload of the others.",
    expect: "all or minimal",
    schema: { type: "string", enum: ["all", "minimal"] },
  },
};

/** The setting names, in file order. */
export const SETTING_NAMES = Object.keys(SETTING_FIELDS) as (keyof Settings)[];

/** JSON schema of a (partial) configuration: every key optional, no unknown keys. */
export const SETTINGS_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "renew-certs configuration",
  type: "object",
  additionalProperties: false,
  properties: Object.fromEntries(SETTING_NAMES.map((k) => [k, { description: SETTING_FIELDS[k].description, ...SETTING_FIELDS[k].schema }])),
} as const;

/** The command-line flag of a setting: certificateRenewInterval → --certificate-renew-interval. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A default for people: "60", "\"daily\"", "kube-apiserver, kube-scheduler", "\"\"". */
export function formatDefault(value: unknown): string {
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/**
 * The known name closest to `name` (case, "-" and "_" ignored; then edit distance at most a
 * third of the name), or undefined: for "unknown setting, did you mean …?".
 */
export function closestName(name: string, known: readonly string[] = SETTING_NAMES): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, "");
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(norm(name), norm(k));
    if (!best || d < best.d) best = { name: k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(norm(name).length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
