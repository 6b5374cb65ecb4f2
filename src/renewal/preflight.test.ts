import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { cli } from "../../test/support/cli.js";
import { bind, bindReadOnly, canMount, ext4, fillSpace, must, sandboxIn, tmpfs } from "../../test/support/mounts.js";
import { errorLines, treeOf } from "../../test/support/tree.js";
import { shortfall } from "./preflight.js";
import { exhaustedBy } from "../errors.js";
import { spawnSync } from "node:child_process";

// Each case is what a real host does to a write, made by the kernel itself: chattr on an ext4 image,
// read-only bind mounts, a tmpfs with size= and nr_inodes=. A refusal is one error line naming the
// file and the cause, its exit code, and the whole tree (backups included) exactly as it was.

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;
const PKI = "etc/kubernetes/pki";

/** A control plane on `mnt` with its state directory made, so that the tree compares whole. */
async function hostOn(mnt: string): Promise<string> {
  const root = await sandboxIn(mnt, ec);
  await mkdir(join(root, "var/lib/renew-certs/backups"), { recursive: true });
  return root;
}

/** Runs renew all and checks the refusal: exit code, one matching error line, nothing changed. */
async function refused(root: string, code: number, line: RegExp): Promise<void> {
  const before = await treeOf(root);
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, code, r.stderr);
  assert.deepEqual(errorLines(r.stderr), errorLines(r.stderr).slice(0, 1), "one error line");
  assert.match(errorLines(r.stderr)[0] ?? "", line);
  assert.deepEqual(await treeOf(root), before, "every file, link and directory as it was");
}

const attributes: { name: string; path: string; flag: string; expect: RegExp }[] = [
  { name: "an immutable certificate", path: `${PKI}/etcd/server.crt`, flag: "+i", expect: /^error: certificate \S+\/pki\/etcd\/server\.crt: immutable attribute set: `chattr -i \S+\/pki\/etcd\/server\.crt`, then run again; nothing was changed$/ },
  { name: "an append-only key", path: `${PKI}/front-proxy-client.key`, flag: "+a", expect: /^error: key \S+\/front-proxy-client\.key: append-only attribute set: `chattr -a \S+\/front-proxy-client\.key`, then run again; nothing was changed$/ },
  { name: "an immutable directory", path: `${PKI}/etcd`, flag: "+i", expect: /^error: directory \S+\/pki\/etcd: immutable attribute set: `chattr -i \S+\/pki\/etcd`/ },
  { name: "an append-only backup directory (pruning could not remove old backups)", path: "var/lib/renew-certs/backups", flag: "+a", expect: /^error: backup directory \S+\/backups: append-only attribute set: `chattr -a / },
];

for (const a of attributes) {
  test(`renew refuses ${a.name} before the first write, in lsattr's words and with the chattr that fixes it`, async (t) => {
    if (!canMount(t, "mkfs.ext4", "chattr", "lsattr")) return;
    const root = await hostOn(await ext4(t));
    must("chattr", a.flag, join(root, a.path)); // undone with the image, which the unmount hook removes
    await refused(root, 4, a.expect);
  });
}

test("two immutable files are both named in the one error line and in its chattr", async (t) => {
  if (!canMount(t, "mkfs.ext4", "chattr", "lsattr")) return;
  const root = await hostOn(await ext4(t));
  const files = [join(root, PKI, "apiserver.crt"), join(root, "etc/kubernetes/admin.conf")];
  must("chattr", "+i", ...files);
  await refused(root, 4, new RegExp(`immutable attribute set: \`chattr -i (${files.join(" ")}|${files.reverse().join(" ")})\``));
});

test("renew refuses a read-only bind mount of pki, naming the mount point and the remount that fixes it", async (t) => {
  if (!canMount(t)) return;
  const root = await hostOn(await tmpfs(t, "size=8m"));
  bindReadOnly(join(root, PKI));
  await refused(root, 4, /^error: \S+ \S+\/pki\/\S* \(and \d+ more\) is on a read-only file system mounted at \S+\/pki: remount it read-write \(mount -o remount,bind,rw \S+\/pki\), then run again; nothing was changed$/);
});

test("renew refuses a key that is a mount point (a file bind-mounted on it), which no rename can replace", async (t) => {
  if (!canMount(t)) return;
  const mnt = await tmpfs(t, "size=8m");
  const root = await hostOn(mnt);
  const secret = join(mnt, "secret.key");
  await copyFile(join(root, PKI, "front-proxy-client.key"), secret);
  await chmod(secret, 0o600);
  bind(secret, join(root, PKI, "front-proxy-client.key"));
  await refused(root, 4, /^error: key \S+\/front-proxy-client\.key is a mount point \(\S+ is mounted on it\): renew-certs replaces a file by renaming a new one over it/);
});

test("renew on a small tmpfs either renews or refuses before writing, never fails half-way", async (t) => {
  if (!canMount(t)) return;
  // From no room at all upwards: every run is a clean refusal (exit 6, the tree as it was) until one succeeds.
  const outcomes: string[] = [];
  for (let leaveKiB = 0; ; leaveKiB += 24) {
    assert.ok(leaveKiB <= 600, `still refused with ${leaveKiB} KiB free: ${outcomes.join("; ")}`);
    const sub = await tmpfs(t, "size=2m");
    const root = await hostOn(sub);
    fillSpace(sub, leaveKiB);
    const before = await treeOf(root);
    const r = cli(["renew", "all", "--root", root]);
    if (r.status === 0) {
      outcomes.push(`${leaveKiB} KiB: renewed`);
      break;
    }
    outcomes.push(`${leaveKiB} KiB: ${errorLines(r.stderr)[0]}`);
    assert.equal(r.status, 6, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^error: (not enough free space on \S+ \(for \S+.*\): the backup and the temporary files need \d+ KiB, \d+ KiB (is|are) free \(df -h \S+\); free some space and run again; nothing was changed|cannot write (lock file|lock directory|directory) \S+: no space left on the device .*)$/m);
    assert.deepEqual(await treeOf(root), before, `${leaveKiB} KiB free: nothing changed`);
  }
  t.diagnostic(outcomes.join("\n"));
  assert.ok(outcomes.length >= 3, "the smallest amounts are refused");
});

test("renew with no free inodes says so (not 'does not exist', never 'no space left'), exit 6, nothing changed, at every inode count near the tree's", async (t) => {
  if (!canMount(t)) return;
  // How many inodes the control plane takes on a tmpfs, then tmpfs made with exactly that many and
  // 0 to 8 more (45 and 46 on the sandbox of this writing). With none left even the lock directory
  // cannot be made; with 1 or 2 it is made but its entry is not, and the lock directory is removed
  // again before the error is built (so statfs shows a free inode or two: still inodes, df -i);
  // with more the preflight counts what the run needs.
  const probe = await tmpfs(t, "size=8m,nr_inodes=400");
  await hostOn(probe);
  const used = 400 - Number(spawnSync("df", ["--output=iavail", probe], { encoding: "utf8" }).stdout.trim().split("\n").pop());
  const seen: string[] = [];
  for (let inodes = used; inodes <= used + 8; inodes++) {
    const root = await hostOn(await tmpfs(t, `size=8m,nr_inodes=${inodes}`));
    const before = await treeOf(root);
    const r = cli(["renew", "all", "--root", root]);
    const line = errorLines(r.stderr)[0] ?? "";
    seen.push(`nr_inodes=${inodes}: ${line}`);
    assert.equal(r.status, 6, `nr_inodes=${inodes}: ${r.stderr}`);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.doesNotMatch(line, /no space left|df -h/, `nr_inodes=${inodes}`);
    assert.match(line, /^error: (cannot write (lock entry|lock directory|directory) \S+\/lock\S*: no free inodes on the file system of \S+ \(df -i \S+\); free some \(remove files\) and run again|not enough free inodes on \S+ \(for \S+.*\): the backup and the temporary files need \d+, \d+ (is|are) free \(df -i \S+\); remove unneeded files there and run again; nothing was changed)$/, `nr_inodes=${inodes}`);
    assert.deepEqual(await treeOf(root), before, `nr_inodes=${inodes}: every file as it was`);
  }
  t.diagnostic(seen.map((l) => l.replace(/\/\S*\/renew-certs-mnt-[^/\s]+/g, "…")).join("\n"));
  // The three ways are all met: the lock directory, its entry, and the preflight's count.
  assert.match(seen[0]!, /cannot write directory \S+\/lock: no free inodes/);
  assert.ok(seen.slice(1, 3).every((l) => /cannot write lock directory \S+\/lock: no free inodes/.test(l)), seen.join("\n"));
  assert.match(seen[seen.length - 1]!, /not enough free inodes/);
});

test("ENOSPC is put on the resource that ran out: inodes when their share left is the smaller, even after a failed write gave one back", () => {
  const fs = (bfree: number, ffree: number, files = 400) => ({ blocks: 2048, bfree, bavail: bfree, files, ffree });
  assert.equal(exhaustedBy(fs(2000, 0)), "inodes", "none left");
  assert.equal(exhaustedBy(fs(2000, 1)), "inodes", "the lock directory removed again after its entry failed");
  assert.equal(exhaustedBy(fs(2000, 2)), "inodes");
  assert.equal(exhaustedBy(fs(0, 300)), "space", "no block left");
  assert.equal(exhaustedBy(fs(3, 300)), "space", "a few blocks given back by a removed temporary file");
  assert.equal(exhaustedBy(fs(3, 0, 0)), "space", "btrfs has no inode table");
  // ext4's reserved blocks: root may use them, others may not.
  assert.equal(exhaustedBy({ blocks: 1000, bfree: 50, bavail: 0, files: 1000, ffree: 900 }, false), "space");
  assert.equal(exhaustedBy({ blocks: 1000, bfree: 50, bavail: 0, files: 1000, ffree: 2 }, true), "inodes");
});

test("the room estimate: inodes before space, whole blocks per file, no inode limit where the file system has none", () => {
  const demands = [{ dir: "/a", files: [1, 4096, 4097], newDirs: 2 }];
  // 1 + 1 + 2 blocks for the files, 2 for the new directories, 1 for the growing directory.
  assert.equal(shortfall(demands, { blockSize: 4096, freeBlocks: 7, inodes: 100, freeInodes: 5 }), undefined);
  assert.deepEqual(shortfall(demands, { blockSize: 4096, freeBlocks: 6, inodes: 100, freeInodes: 5 }), { kind: "space", need: 7 * 4096, free: 6 * 4096 });
  assert.deepEqual(shortfall(demands, { blockSize: 4096, freeBlocks: 0, inodes: 100, freeInodes: 4 }), { kind: "inodes", need: 5, free: 4 });
  assert.equal(shortfall(demands, { blockSize: 4096, freeBlocks: 7, inodes: 0, freeInodes: 0 }), undefined, "btrfs reports no inode table");
});

