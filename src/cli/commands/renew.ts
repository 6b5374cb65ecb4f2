import { resolve } from "node:path";
import type { Command } from "../command.js";
import { bool, str } from "../command.js";
import { RenewCertsError } from "../../errors.js";
import { renewCertificates } from "../../renewal/renew.js";
import { LEAF_NAMES } from "../../inventory/catalog.js";
import { faultHook } from "../fault.js";
import { SETTING_FIELDS, type Range } from "../../config/schema.js";

/** Parses a whole number within a setting's range (config/schema.ts), or throws a USAGE error naming the flag, the unit and the range. */
export function wholeNumberFlag(value: string | undefined, flag: string, range: Range): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < range.min || Number(value) > range.max) {
    throw new RenewCertsError("USAGE", `${flag} must be a whole number of ${range.unit} from ${range.min} to ${range.max} (got ${value})`);
  }
  return Number(value);
}

export const renewCommand: Command = {
  name: "renew",
  summary: "renew certificates and kubeconfigs now, natively (no kubeadm needed)",
  help: `Usage: renew-certs renew all|NAME... [--root DIR] [--dry-run] [--validity-days 365] [--backup-dir DIR]

Renews the named certificates (or all) unconditionally, as "kubeadm certs renew"
does: a new key of the same type and size, the same subject, names and extended
key usages, kubeadm's key usage and CA:FALSE, a fresh serial, valid from now
(minus 5 minutes) for --validity-days, signed by the same CA; nothing else of the
old certificate is copied. Kubeconfigs get new embedded credentials and the
current CA; everything else in them is kept. Certificates of an external CA (no
CA key) are skipped. Refused, with nothing written: a leaf that is a CA (exit
11), one with a critical extension renew-certs does not carry over (12), a CA
that has expired or is not yet valid (13).

Every new certificate is checked in memory before anything is written. Then the
files are backed up to the backup directory and replaced atomically, key before
certificate. A run killed half-way is completed or rolled back by the next run.

It does not restart anything: the control-plane pods keep the old certificates
until restarted ("renew-certs run" does both, when due).

Names: ${LEAF_NAMES.join(", ")}

Options:
  --root DIR            the host's root directory (default /)
  --dry-run             print what would change; write nothing
  --validity-days N     validity of the new certificates, 1 to 3650 (default 365); capped at the CA's expiry
  --backup-dir DIR      where backups go (default <root>/var/lib/renew-certs/backups)
  --lock-timeout SECS   how long to wait for another run, 0 to 86400 (default 60)

Examples:
  renew-certs renew all --dry-run
  renew-certs renew apiserver admin.conf
  renew-certs restore latest          # undo: put the newest backup back
`,
  options: {
    root: { type: "string" },
    "dry-run": { type: "boolean" },
    "validity-days": { type: "string" },
    "backup-dir": { type: "string" },
    "lock-timeout": { type: "string" },
  },
  async run(args, io) {
    if (args.positionals.length === 0) throw new RenewCertsError("USAGE", `say what to renew: renew-certs renew all, or any of ${LEAF_NAMES.join(", ")}`);
    if (args.positionals.includes("all") && args.positionals.length > 1) throw new RenewCertsError("USAGE", "renew all takes no other names");
    const root = resolve(str(args, "root") ?? "/");
    const dryRun = bool(args, "dry-run");
    const backupDir = str(args, "backup-dir");
    const onStep = faultHook(io.env);
    const result = await renewCertificates({
      root,
      names: args.positionals,
      dryRun,
      validityDays: wholeNumberFlag(str(args, "validity-days"), "--validity-days", SETTING_FIELDS.validityDays.range!) ?? 365,
      ...(backupDir ? { backupDir: resolve(backupDir) } : {}),
      lockTimeoutMs: (wholeNumberFlag(str(args, "lock-timeout"), "--lock-timeout", SETTING_FIELDS.lockTimeoutSeconds.range!) ?? 60) * 1000,
      log: io.log,
      ...(onStep ? { onStep } : {}),
    });
    if (dryRun) {
      const lines = result.renewed.map((r) => `would renew ${r.name.padEnd(25)} until ${r.notAfter}${r.cappedAtCaDaysLeft !== undefined ? " (capped at the CA's expiry)" : ""}\n${r.files.map((f) => `    write ${f}`).join("\n")}`);
      io.stdout(`${lines.join("\n")}\n${result.renewed.length} certificate(s) would be renewed; --dry-run: nothing was written\n`);
    } else {
      io.stdout(`${result.renewed.length} certificate(s) renewed${result.backup ? `; backup in ${result.backup}` : ""}\n` +
        (result.renewed.length > 0 ? "restart the control plane to load them (renew-certs run does it, or restart the static pods)\n" : ""));
    }
    return 0;
  },
};
