import { join, resolve } from "node:path";
import type { Command } from "../command.js";
import { str } from "../command.js";
import { RenewCertsError } from "../../errors.js";
import { LAYOUT } from "../../inventory/catalog.js";
import { createBackup, listBackups, openBackup, restoreFiles } from "../../renewal/backup.js";
import { lockAndRecover } from "../../renewal/renew.js";

export const restoreCommand: Command = {
  name: "restore",
  summary: "put a backup back (undo a renewal), or list the backups",
  help: `Usage: renew-certs restore BACKUP|latest [--root DIR] [--backup-dir DIR]
       renew-certs restore --list [--root DIR] [--backup-dir DIR]

Puts every file of a backup back, byte for byte, with its mode and owner. BACKUP is
a backup's name (as --list prints it), its directory, or "latest". The current
files are backed up first, so a restore can itself be undone. Checksums are
verified before anything is written. Restart the control plane afterwards.

Options:
  --root DIR         the host's root directory (default /)
  --backup-dir DIR   where backups are (default <root>/var/lib/renew-certs/backups)
  --list             list the backups, oldest first
`,
  options: { root: { type: "string" }, "backup-dir": { type: "string" }, list: { type: "boolean" } },
  async run(args, io) {
    const root = resolve(str(args, "root") ?? "/");
    const backupDir = str(args, "backup-dir") ? resolve(str(args, "backup-dir")!) : join(root, LAYOUT.backupDir);
    if (args.values["list"] === true) {
      const all = await listBackups(backupDir);
      io.stdout(all.length === 0 ? `no backups in ${backupDir}\n` : all.map((d) => d.slice(backupDir.length + 1)).join("\n") + "\n");
      return 0;
    }
    const [which, ...extra] = args.positionals;
    if (!which || extra.length > 0) throw new RenewCertsError("USAGE", "restore takes one backup: renew-certs restore BACKUP|latest (see renew-certs restore --list)");
    const { lock } = await lockAndRecover(root, io.log);
    try {
      const { dir, index } = await openBackup(backupDir, which);
      const safety = await createBackup(root, backupDir, index.files.map((f) => join(root, f.path)), new Date(), `before restore of ${dir}`, 1000);
      const restored = await restoreFiles(root, dir, index);
      io.log.info("restored", { backup: dir, files: restored.length, previous: safety });
      io.stdout(`restored ${restored.length} file(s) from ${dir}; the files it replaced are in ${safety}\nrestart the control plane to load them\n`);
      return 0;
    } finally {
      await lock.release();
    }
  },
};
