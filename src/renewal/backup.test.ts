import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { cli } from "../../test/support/cli.js";
import { copySandbox } from "../../test/support/sandbox.js";
import { canMount, ext4, must, sandboxIn } from "../../test/support/mounts.js";
import { errorLines, treeOf } from "../../test/support/tree.js";
import { memoryLogger } from "../log/logger.js";
import { RenewCertsError } from "../errors.js";
import { createBackup, sha256, type BackupIndex } from "./backup.js";
import { listBackups } from "./backup-list.js";
import { renewCertificates } from "./renew.js";

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;
const PKI = "etc/kubernetes/pki";
const STATE = "var/lib/renew-certs";

/** Ten backups made while the clock was years ahead; `legacy` drops the sequence, as older versions wrote them. */
async function futureBackups(root: string, legacy = false): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 10; i++) {
    const dir = await createBackup(root, join(root, STATE, "backups"), [join(root, PKI, "apiserver.crt")], new Date(Date.UTC(2031, 0, 1 + i)), "the clock was ahead", { keep: 10 });
    if (legacy) {
      const index = JSON.parse(await readFile(join(dir, "backup.json"), "utf8")) as BackupIndex;
      delete index.sequence;
      await writeFile(join(dir, "backup.json"), JSON.stringify(index, null, 2) + "\n");
    }
    out.push(dir);
  }
  return out;
}

for (const legacy of [false, true]) {
  test(`ten backups dated in the future${legacy ? " (from a version without sequences)" : ""} survive a renewal, are marked by restore --list, and restore latest takes the renewal's own`, async (t) => {
    const root = await copySandbox(t, ec);
    const future = await futureBackups(root, legacy);
    const before = await treeOf(root, [STATE]);
    const r = cli(["renew", "all", "--root", root]);
    assert.equal(r.status, 0, r.stderr);
    const made = /backup in (\S+)/.exec(r.stdout)?.[1];
    assert.ok(made && existsSync(join(made, "backup.json")), "the backup just made is there");
    assert.deepEqual(await listBackups(join(root, STATE, "backups")), [...future, made], "none pruned, the new one last");
    const list = cli(["restore", "--list", "--root", root]).stdout.trimEnd().split("\n");
    assert.equal(list.length, 11);
    for (const [i, f] of future.entries()) assert.match(list[i]!, new RegExp(`^${basename(f)}\\s+dated in the future: made while the clock was ahead`));
    assert.equal(list[10], basename(made), "the last line is what restore latest takes");
    const back = cli(["restore", "latest", "--root", root]);
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stdout, new RegExp(`^restored 18 file\\(s\\) from ${made};`));
    assert.deepEqual(await treeOf(root, [STATE]), before, "the state before the renewal, not a stale one");
  });
}

test("ten backups dated in the future and an immutable certificate: refused before the backup, so nothing is pruned or written", async (t) => {
  if (!canMount(t, "mkfs.ext4", "chattr", "lsattr")) return;
  const root = await sandboxIn(await ext4(t), ec);
  await futureBackups(root);
  must("chattr", "+i", join(root, PKI, "etcd/server.crt"));
  const before = await treeOf(root);
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 4, r.stderr);
  assert.deepEqual(errorLines(r.stderr), [`error: certificate ${join(root, PKI, "etcd/server.crt")}: immutable attribute set: \`chattr -i ${join(root, PKI, "etcd/server.crt")}\`, then run again; nothing was changed`]);
  assert.deepEqual(await treeOf(root), before);
});

test("a write the kernel refuses after the preflight is undone from this run's backup, which ten future-dated backups cannot push out", async (t) => {
  if (!canMount(t, "mkfs.ext4", "chattr", "lsattr")) return;
  const root = await sandboxIn(await ext4(t), ec);
  const backups = join(root, STATE, "backups");
  const future = await futureBackups(root);
  const before = await treeOf(root, [STATE]);
  const victim = join(root, PKI, "etcd/server.crt");
  const intent = join(root, STATE, "job.json");
  const log = memoryLogger();
  let armed = true;
  // Once the intent record is durable (the preflight has passed), etcd-server's certificate becomes immutable: its key is renamed first, then the certificate's rename fails.
  const onStep = (step: string, file: string): void => {
    if (armed && step === "renamed" && file === intent) {
      armed = false;
      must("chattr", "+i", victim);
    }
  };
  const e = await renewCertificates({ root, names: ["all"], log, backupsKept: 10, onStep }).then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof RenewCertsError, String(e));
  assert.equal(e.code, "PERMISSION");
  const m = /^certificate \S+\/etcd\/server\.crt: operation not permitted, even to root: .*; nothing was changed: the files written so far were restored from (\S+)$/.exec(e.message);
  assert.ok(m, e.message);
  const used = m[1]!;
  assert.deepEqual(await listBackups(backups), [...future, used], "the run's own backup was kept and used");
  assert.deepEqual(log.lines.filter((l) => l.level === "error"), [], "the one error is the thrown one");
  assert.deepEqual(await treeOf(root, [STATE]), before, "etcd-server's key is back beside its certificate");
  const cert = new X509Certificate(await readFile(victim));
  assert.ok(cert.checkPrivateKey(createPrivateKey(await readFile(join(root, PKI, "etcd/server.key")))));
  // The next run, with the attribute removed, renews everything.
  must("chattr", "-i", victim);
  await renewCertificates({ root, names: ["all"], log, backupsKept: 10 });
  assert.notEqual((await treeOf(root, [STATE])).get(`${PKI}/etcd/server.crt`), before.get(`${PKI}/etcd/server.crt`));
});

test("an old backup an operator made immutable is left whole by pruning, and the new backup is still made", async (t) => {
  if (!canMount(t, "mkfs.ext4", "chattr")) return;
  const root = await sandboxIn(await ext4(t), ec);
  const backups = join(root, STATE, "backups");
  const file = join(root, PKI, "apiserver.crt");
  const kept = await createBackup(root, backups, [file], new Date(Date.UTC(2026, 0, 1)), "kept on purpose", { keep: 1 });
  must("chattr", "+i", join(kept, "backup.json"));
  const made = await createBackup(root, backups, [file], new Date(Date.UTC(2026, 0, 2)), "test", { keep: 1 });
  assert.deepEqual(await listBackups(backups), [kept, made]);
  assert.ok(existsSync(join(kept, "files", PKI, "apiserver.crt")), "the kept backup is whole");
});

/** A renewed sandbox with one backup, and a directory outside its root. */
async function renewedWithBackup(t: Parameters<typeof copySandbox>[0]): Promise<{ root: string; backup: string; outside: string }> {
  const root = await copySandbox(t, ec);
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  const outside = await mkdtemp(join(tmpdir(), "renew-certs-outside-"));
  t.after(() => rm(outside, { recursive: true, force: true }));
  await writeFile(join(outside, "victim"), "precious\n");
  return { root, backup: /backup in (\S+)/.exec(r.stdout)![1]!, outside };
}

/** Adds an entry to a backup's index, with a copy of `data` stored where `storedAt` says. */
async function addEntry(backup: string, entry: Record<string, unknown>, storedAt: string, data = "evil\n"): Promise<void> {
  const file = join(backup, "backup.json");
  const index = JSON.parse(await readFile(file, "utf8")) as { files: unknown[] };
  index.files.push({ mode: 0o644, uid: 0, gid: 0, sha256: sha256(data), ...entry });
  await writeFile(file, JSON.stringify(index, null, 2));
  await mkdir(join(backup, "files", storedAt, ".."), { recursive: true }).catch(() => undefined);
  await writeFile(join(backup, "files", storedAt), data).catch(() => undefined);
}

const hostile: { name: string; tamper: (h: { root: string; backup: string; outside: string }) => Promise<void>; expect: RegExp }[] = [
  {
    name: "a ../ path",
    tamper: async (h) => addEntry(h.backup, { path: `../../../../../../..${h.outside}/victim` }, "x"),
    expect: /names the file "(\.\.\/)+\S+\/victim", which has an empty, \. or \.\. part/,
  },
  {
    name: "an absolute path",
    tamper: async (h) => addEntry(h.backup, { path: join(h.outside, "victim") }, "x"),
    expect: /names the file "\/\S+\/victim", which is absolute/,
  },
  {
    name: "a path through a directory that became a symbolic link leading out of --root",
    tamper: async (h) => {
      await symlink(h.outside, join(h.root, "etc/kubernetes/secrets"));
      await addEntry(h.backup, { path: "etc/kubernetes/secrets/victim" }, "etc/kubernetes/secrets/victim");
    },
    expect: /names the file "etc\/kubernetes\/secrets\/victim", which leads to \S+\/victim, outside --root \S+ \(through a symbolic link\)/,
  },
  {
    name: "a symbolic link whose recorded target is outside --root",
    tamper: async (h) => addEntry(h.backup, { path: `${PKI}/apiserver.crt`, link: { text: join(h.outside, "victim"), target: `../../../../../../..${h.outside}/victim` } }, "y"),
    expect: /names the link target of etc\/kubernetes\/pki\/apiserver\.crt "(\.\.\/)+\S+", which has an empty, \. or \.\. part/,
  },
  {
    name: "a file renew-certs never backs up (a cron job)",
    tamper: async (h) => addEntry(h.backup, { path: "etc/cron.d/evil" }, "etc/cron.d/evil"),
    expect: /names the file "etc\/cron\.d\/evil", which renew-certs never backs up \(only etc\/kubernetes\/, var\/lib\/kubelet\/ and root\/\.kube\/config\)/,
  },
  {
    name: "a symbolic link whose text leads elsewhere than its recorded target (the host's /etc/shadow)",
    tamper: async (h) => addEntry(h.backup, { path: `${PKI}/apiserver.key`, link: { text: "/etc/shadow", target: `${PKI}/apiserver.key` } }, `${PKI}/apiserver.key`),
    expect: /gives the link etc\/kubernetes\/pki\/apiserver\.key the text "\/etc\/shadow", which leads to \/etc\/shadow, not to its recorded target etc\/kubernetes\/pki\/apiserver\.key/,
  },
  {
    name: "a symbolic link to a new place inside --root that holds no certificate, key or kubeconfig",
    tamper: async (h) => addEntry(h.backup, { path: `${PKI}/apiserver.key`, link: { text: "../../../srv/evil", target: "srv/evil" } }, `${PKI}/apiserver.key`),
    expect: /restores the link etc\/kubernetes\/pki\/apiserver\.key to srv\/evil, which is neither where etc\/kubernetes\/pki\/apiserver\.key leads now \(it is no symbolic link\) nor a certificate, key or kubeconfig: put that link back by hand first/,
  },
  {
    name: "a set-user-ID mode",
    tamper: async (h) => addEntry(h.backup, { path: "etc/kubernetes/tool", mode: 0o4755 }, "etc/kubernetes/tool"),
    expect: /gives etc\/kubernetes\/tool the mode 4755 \(set-user-ID, set-group-ID or sticky\), which no certificate, key, kubeconfig or manifest has/,
  },
];

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

for (const h of hostile) {
  test(`restore refuses a backup whose backup.json names ${h.name}, and changes nothing inside or outside --root`, async (t) => {
    const setup = await renewedWithBackup(t);
    await h.tamper(setup);
    const inside = await treeOf(setup.root);
    const outside = await treeOf(setup.outside);
    const r = cli(["restore", basename(setup.backup), "--root", setup.root]);
    assert.equal(r.status, 4, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: backup ${escape(setup.backup)} is refused: its backup\\.json ${h.expect.source}; nothing was restored: choose another backup \\(renew-certs restore --list\\)$`, "m"));
    assert.deepEqual(await treeOf(setup.root), inside, "no safety backup either");
    assert.deepEqual(await treeOf(setup.outside), outside);
  });
}

test("restore refuses a backup whose copy does not match its checksum before anything is written: no safety backup, so nothing is pruned", async (t) => {
  const setup = await renewedWithBackup(t);
  await writeFile(join(setup.backup, "files", PKI, "apiserver.key"), "damaged\n");
  const inside = await treeOf(setup.root);
  for (let i = 0; i < 3; i++) {
    const r = cli(["restore", basename(setup.backup), "--root", setup.root]);
    assert.notEqual(r.status, 0);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /is damaged: etc\/kubernetes\/pki\/apiserver\.key does not match its recorded checksum; nothing was restored/);
  }
  assert.deepEqual(await treeOf(setup.root), inside, "no safety backup, every file as it was");
});

test("restore never puts a key-holding file back readable by others, even when it was so before the renewal", async (t) => {
  const root = await copySandbox(t, ec);
  await chmod(join(root, "etc/kubernetes/admin.conf"), 0o644);
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  const back = cli(["restore", "latest", "--root", root]);
  assert.equal(back.status, 0, back.stderr);
  assert.equal((await stat(join(root, "etc/kubernetes/admin.conf"))).mode & 0o777, 0o600);
});
