import type { Settings } from "./settings.js";

/** What one setting is for people (config file comments, docs/configuration.md) and what a valid value looks like. */
export interface SettingField {
  /** What the setting does, one sentence, with its unit. */
  description: string;
  /** What a valid value is, completing "must be …" in error messages. */
  expect: string;
  /** The JSON schema of the value. */
  schema: Record<string, unknown>;
  /** For a whole number: its bounds (inclusive) and unit; a value outside them is refused. */
  range?: Range;
}

/** The bounds of a whole-number setting, inclusive, and what the maximum is in people's words. */
export interface Range {
  min: number;
  max: number;
  unit: "days" | "seconds" | "backups";
  /** The maximum for people: "one day", "ten years". */
  maxIs: string;
}

const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = `${DNS_LABEL}(\\.${DNS_LABEL})*`;
const DAY_S = 86_400;

/**
 * A whole number between bounds: the schema, the "must be …" and the range come from one place.
 * The maximums keep a typo (an extra 0, 1e9, milliseconds for seconds) from a run that waits for
 * years or a certificate valid for centuries; each is far above any sensible value.
 */
function wholeNumber(unit: Range["unit"], min: number, max: number, maxIs: string): Pick<SettingField, "expect" | "schema" | "range"> {
  const what = unit === "backups" ? "a whole number" : `a whole number of ${unit}`;
  return { expect: `${what}, from ${min} to ${max} (${maxIs})`, schema: { type: "integer", minimum: min, maximum: max }, range: { min, max, unit, maxIs } };
}

/**
 * Every setting of `renew-certs run`, in the order of the configuration file. The one place that
 * describes them: the JSON schema, the comments of /etc/renew-certs/config.yaml and error messages.
 */
export const SETTING_FIELDS: { readonly [K in keyof Settings]: SettingField } = {
  certificateRenewInterval: {
    description: "Renew when any certificate is older than this many days; 0 disables renewal.",
    ...wholeNumber("days", 0, 3650, "ten years"),
  },
  safetyMarginDays: {
    description: "Also renew when any certificate expires within this many days (or has expired).",
    ...wholeNumber("days", 0, 3650, "ten years"),
  },
  validityDays: {
    description: "Validity of renewed certificates, in days (never past their CA's expiry).",
    ...wholeNumber("days", 1, 3650, "ten years"),
  },
  caRenewBeforeDays: {
    description: "Re-sign a certificate authority with its own key when it expires within this many days (or has expired), so that every node and pod has that long to pick up the new certificate. Must be less than caValidityDays.",
    ...wholeNumber("days", 0, 3650, "ten years"),
  },
  caValidityDays: {
    description: "Validity of a re-signed certificate authority, in days (kubeadm's is ten years).",
    ...wholeNumber("days", 1, 36_500, "a hundred years"),
  },
  schedule: {
    description: "When the timer checks the certificates: a systemd OnCalendar expression (see systemd.time(7); check one with systemd-analyze calendar).",
    expect: "a systemd calendar expression such as daily or *-*-* 03:00:00",
    schema: { type: "string", minLength: 1, pattern: "^[^\\n]+$" },
  },
  randomizedDelaySeconds: {
    description: "Random delay added to the schedule, in seconds, fixed per host, so that control-plane hosts do not restart together.",
    ...wholeNumber("seconds", 0, DAY_S, "one day"),
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
    ...wholeNumber("seconds", 1, 3600, "one hour"),
  },
  fallbackAfterSeconds: {
    description: "How long a restarted component may go without a new process before renew-certs restarts the kubelet (and, after as long again, stops the old container), in seconds.",
    ...wholeNumber("seconds", 1, 3600, "one hour"),
  },
  backupDir: {
    description: "Where the backup taken before each renewal goes (a host path, mode 0700).",
    expect: "an absolute path",
    schema: { type: "string", pattern: "^/" },
  },
  backupsKept: {
    description: "How many backups to keep; older ones are removed.",
    ...wholeNumber("backups", 1, 1000, "a thousand"),
  },
  metricsFile: {
    description: "Prometheus text file for node_exporter's textfile collector; \"\" disables it.",
    expect: "an absolute path ending in .prom, or \"\"",
    schema: { type: "string", pattern: "^(/.*\\.prom)?$" },
  },
  lockTimeoutSeconds: {
    description: "How long a second run waits for the lock held by another, in seconds.",
    ...wholeNumber("seconds", 0, DAY_S, "one day"),
  },
  nodeName: {
    description: "This node's name, for the restart Lease and the pod names; \"\" means the host name.",
    expect: "a lowercase DNS name, or \"\"",
    schema: { type: "string", pattern: `^(${DNS_SUBDOMAIN})?$` },
  },
  leaseWaitSeconds: {
    description: "How long to wait for another control-plane host's restart Lease, in seconds.",
    ...wholeNumber("seconds", 0, DAY_S, "one day"),
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
