import { join, resolve } from "node:path";
import type { Command } from "../command.js";
import { bool, str } from "../command.js";
import { RenewCertsError } from "../../errors.js";
import { DEFAULT_SETTINGS, HOST_PATHS, type Settings } from "../../config/settings.js";
import { exists } from "../../util/fs.js";
import { faultHook } from "../fault.js";
import { wholeNumberFlag } from "./renew.js";
import { SETTING_FIELDS } from "../../config/schema.js";

/** --validity-days of a re-signed CA: up to 100 years, as kubeadm's own CA validity can be set that long. */
import type { CaRenewResult } from "../../ca/renew.js";
import { restartsFor } from "../../ca/trust-locations.js";

/** The host's settings: its config file when there is one, else the defaults. */
async function hostSettings(root: string): Promise<Settings> {
  const file = join(root, HOST_PATHS.configFile);
  return (await exists(file)) ? (await import("../../config/load.js")).loadConfig(file) : DEFAULT_SETTINGS;
}

/** What `ca renew` prints: each CA, what was written, what must restart, and the deadline. Pure. */
export function renderCaRenewal(r: CaRenewResult): string {
  const verb = r.dryRun ? "would re-sign" : "re-signed";
  const out: string[] = [];
  for (const p of r.plans) {
    const validity = `valid ${p.made.notBefore.toISOString()} to ${p.made.notAfter.toISOString()} (was until ${p.old.notAfter.toISOString()})`;
    out.push(`${verb} ${p.ca} with its own key: serial ${p.made.x509.serialNumber}, ${validity}`);
    for (const w of p.writes) out.push(`    ${r.dryRun ? "would write" : "wrote"} ${w.path}`);
    for (const l of p.leftAlone) out.push(`    left ${l.path} as it is: ${l.why}`);
    out.push(`    ${p.leaves.checked.length} certificate(s) of this host checked against the new certificate (same subject, key and key identifier)`);
    for (const n of p.leaves.mustRenew) out.push(`    RENEW ${n} as well: it names the old certificate by serial`);
  }
  if (r.dryRun) return `${out.join("\n")}\n--dry-run: nothing was written\n`;
  out.push(`backup in ${r.backup}`, "", "renew-certs restarted nothing. Before each deadline below:");
  for (const p of r.plans) {
    out.push(`  ${p.ca}: deadline ${p.record.deadline}${Date.parse(p.record.deadline) <= r.start.getTime() ? " (already passed: restart now)" : ""}`);
    for (const x of restartsFor(p.ca)) out.push(`    restart ${x.reader}: it read ${x.why.join(", ")} at start`);
    if (p.ca === "ca") {
      const cluster = p.clusterName ?? "kubernetes";
      out.push("    worker nodes: put the new ca.crt in /etc/kubernetes/pki/ca.crt and kubelet.conf, then restart their kubelets",
        "    users' kubeconfig copies (on each user's machine, with the new certificate copied there):",
        `      kubectl config set clusters.${cluster}.certificate-authority-data "$(base64 -w0 < ${p.caFile})"`,
        "    pods started before now that use in-cluster clients (client-go reads the CA file once): restart them");
    }
  }
  out.push("", "\"renew-certs ca status\" shows which trust location on this host holds which certificate.");
  return out.join("\n") + "\n";
}

export const caCommand: Command = {
  name: "ca",
  summary: "certificate authorities: status, and re-signing with their own keys before the 10-year cliff",
  help: `Usage: renew-certs ca status [--root DIR] [-o table|json]
       renew-certs ca renew ca|etcd-ca|front-proxy-ca|all [--root DIR] [--dry-run] [--validity-days 3650]

The cliff: kubeadm makes its three CAs (ca, etcd-ca, front-proxy-ca) valid for
10 years and never renews them. When a CA certificate expires, every TLS
handshake verified against it fails, whatever the leaves say: kubectl, the
kubelets, the controller manager, the scheduler and every in-cluster client
stop at once, at their next new connection.

"ca renew" re-signs each CA certificate with its OWN key: the same subject
(byte for byte), the same public key and key identifier, a new serial, valid
from 24 hours ago for --validity-days. Every leaf the CA signed still chains to
it, so no leaf changes, and "kubeadm join --discovery-token-ca-cert-hash" stays
valid (it pins the hash of the public key). Every leaf and kubeconfig client
certificate of this host is checked against the new certificate in memory
first. Then the CA file (exactly one certificate) and the
certificate-authority-data of every kubeconfig on this host that trusts that
key are replaced atomically, everything else in them kept, after a backup
("renew-certs restore" undoes it). It works on a CA that has already expired:
its key still signs. Refused, with nothing written: a CA whose key is not on
this host (an external CA: whoever keeps the key must re-sign it), a key that
does not match its certificate, an intermediate CA (its parent's key would be
needed).

It restarts nothing: it prints what must restart and the deadline (the old
certificate's NotAfter) by which worker nodes, users' kubeconfig copies and
pods with in-cluster clients must trust the new certificate.

"renew-certs run" (the daily job) does the same by itself when a CA expires
within caRenewBeforeDays (default 365) or has expired, before the leaves, and
restarts what reads the CA only at start (see "renew-certs run --help").

This is renewal for EXPIRY, not rotation: the key stays the same. If a CA key
may be compromised, re-signing does not help; rotate the CA with new keys
(https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/).

"ca status" shows, for each CA: its expiry, when its renewal is due (NotAfter
minus caRenewBeforeDays, 365 by default, so that every node and pod has a year
to pick up the new one), the deadline of its last re-signing, and
every place this host trusts it (the CA file for each reader, each kubeconfig)
with whether that place holds the current certificate, an old one of the same
key, or another key's; and whether its reader reloads it or must restart.

Options:
  --root DIR            the host's root directory (default /)
  -o, --output F        ca status: table (default) or json
  --dry-run             ca renew: print what would change; write nothing
  --validity-days N     ca renew: validity of the new certificates (default caValidityDays, 3650)
  --backup-dir DIR      ca renew: where backups go (default <root>/var/lib/renew-certs/backups)
  --lock-timeout SECS   ca renew: how long to wait for another run (default 60)

Examples:
  renew-certs ca status
  renew-certs ca renew all --dry-run
  renew-certs ca renew etcd-ca
`,
  options: {
    root: { type: "string" },
    output: { type: "string", short: "o" },
    "dry-run": { type: "boolean" },
    "validity-days": { type: "string" },
    "backup-dir": { type: "string" },
    "lock-timeout": { type: "string" },
  },
  async run(args, io) {
    const [sub, ...names] = args.positionals;
    const root = resolve(str(args, "root") ?? "/");
    if (sub === "status") {
      if (names.length > 0) throw new RenewCertsError("USAGE", `ca status takes no names (got ${names.join(" ")})`);
      const output = str(args, "output") ?? "table";
      if (output !== "table" && output !== "json") throw new RenewCertsError("USAGE", `--output must be table or json (got ${output})`);
      const { caStatus, renderCaStatus } = await import("../../ca/status.js");
      const now = new Date();
      const rows = await caStatus(root, now, (await hostSettings(root)).caRenewBeforeDays);
      io.stdout(output === "json" ? JSON.stringify({ cas: rows }, null, 2) + "\n" : renderCaStatus(rows, now));
      return 0;
    }
    if (sub !== "renew") {
      const got = sub ? ` (got "${sub}")` : "";
      throw new RenewCertsError("USAGE", `ca has two subcommands: renew-certs ca status, renew-certs ca renew all|ca|etcd-ca|front-proxy-ca${got}`);
    }
    const { renewCas, checkCaNames } = await import("../../ca/renew.js");
    checkCaNames(names);
    const settings = await hostSettings(root);
    const backupDir = str(args, "backup-dir");
    const onStep = faultHook(io.env);
    const result = await renewCas({
      root,
      names,
      dryRun: bool(args, "dry-run"),
      validityDays: wholeNumberFlag(str(args, "validity-days"), "--validity-days", SETTING_FIELDS.caValidityDays.range!) ?? settings.caValidityDays,
      ...(backupDir ? { backupDir: resolve(backupDir) } : {}),
      backupsKept: settings.backupsKept,
      lockTimeoutMs: (wholeNumberFlag(str(args, "lock-timeout"), "--lock-timeout", SETTING_FIELDS.lockTimeoutSeconds.range!) ?? 60) * 1000,
      log: io.log,
      ...(onStep ? { onStep } : {}),
    });
    io.stdout(renderCaRenewal(result));
    return 0;
  },
};
