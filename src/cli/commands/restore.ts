import { join, resolve } from "node:path";
import type { Command } from "../command.js";
import { str } from "../command.js";
import { RenewCertsError } from "../../errors.js";
import { LAYOUT } from "../../inventory/catalog.js";
import { createBackup, openBackup, readBackedUp, restoreFiles } from "../../renewal/backup.js";
import { isFutureDated, listBackupEntries, type BackupEntry } from "../../renewal/backup-list.js";
import { checkBackupIndex } from "../../renewal/backup-paths.js";
import { lockAndRecover } from "../../renewal/renew.js";

/** The --list lines: oldest first (the last is "latest"), backups dated in the future marked. */
export function renderBackupList(backupDir: string, entries: readonly BackupEntry[], now: Date): string {
  if (entries.length === 0) return `no backups in ${backupDir}\n`;
  const width = Math.max(...entries.map((e) => e.name.length));
  return entries.map((e) => isFutureDated(e, now)
    ? `${e.name.padEnd(width)}  dated in the future: made while the clock was ahead; kept until then (remove it by hand once checked)`
    : e.name).join("\n") + "\n";
}

export const restoreCommand: Command = {
  name: "restore",
  summary: "put a backup back (undo a renewal), or list the backups",
  help: `Usage: renew-certs restore BACKUP|latest [--root DIR] [--backup-dir DIR]
       renew-certs restore --list [--root DIR] [--backup-dir DIR]

Puts every file of a backup back, byte for byte, with its mode and owner, and
every symbolic link as the link it was (with the bytes of its target). BACKUP is
a backup's name (as --list prints it), its directory, or "latest" (the last one
made, whatever the clock said then). The current files are backed up first, so a
restore can itself be undone. Paths and checksums are verified before anything is
written (a refused restore writes nothing, not even that safety backup): a backup
naming a path outside --root, a file renew-certs never backs up (anything but
etc/kubernetes/, var/lib/kubelet/ and root/.kube/config), or a link whose text
and recorded target disagree is refused. A file that holds a key (.key, .conf,
.pem) comes back without group or other permissions. Restart the control plane
afterwards.

Options:
  --root DIR         the host's root directory (default /)
  --backup-dir DIR   where backups are (default <root>/var/lib/renew-certs/backups)
  --list             list the backups in the order they were made, oldest first
`,
  options: { root: { type: "string" }, "backup-dir": { type: "string" }, list: { type: "boolean" } },
  async run(args, io) {
    const root = resolve(str(args, "root") ?? "/");
    const backupDir = str(args, "backup-dir") ? resolve(str(args, "backup-dir")!) : join(root, LAYOUT.backupDir);
    if (args.values["list"] === true) {
      io.stdout(renderBackupList(backupDir, await listBackupEntries(backupDir), new Date()));
      return 0;
    }
    const [which, ...extra] = args.positionals;
    if (!which || extra.length > 0) throw new RenewCertsError("USAGE", "restore takes one backup: renew-certs restore BACKUP|latest (see renew-certs restore --list)");
    const { lock } = await lockAndRecover(root, io.log);
    try {
      const { dir, index } = await openBackup(backupDir, which);
      // Refused before the safety backup too: a hostile index leaves every file as it was.
      const checked = checkBackupIndex(root, dir, index);
      // Every checksum too: a refused restore leaves no safety backup behind (nor prunes real ones).
      await readBackedUp(dir, checked);
      const replaced = checked.files.flatMap((f) => [join(root, f.path), ...(f.link ? [join(root, f.link.target)] : [])]);
      const safety = await createBackup(root, backupDir, replaced, new Date(), `before restore of ${dir}`, { keep: 1000, protect: [dir] });
      const restored = await restoreFiles(root, dir, checked);
      io.log.info("restored", { backup: dir, files: restored.length, previous: safety });
      io.stdout(`restored ${restored.length} file(s) from ${dir}; the files it replaced are in ${safety}\nrestart the control plane to load them\n`);
      return 0;
    } finally {
      await lock.release();
    }
  },
};
