import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needTools } from "../../test/support/tools.js";
import { lsattr, mountOf, parseMountinfo } from "./host-fs.js";

const MOUNTINFO = [
  "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "30 22 0:30 / /etc/kubernetes rw,relatime - tmpfs tmpfs rw,size=1024k",
  "31 30 0:30 /pki /etc/kubernetes/pki ro,relatime - tmpfs tmpfs rw,size=1024k",
  "32 22 8:2 / /mnt/with\\040space rw - xfs /dev/sdb1 ro",
  "",
].join("\n");

test("mountinfo is read with its escapes, per-mount read-only flags and the file system's own", () => {
  const mounts = parseMountinfo(MOUNTINFO);
  assert.deepEqual(mounts.map((m) => [m.point, m.readOnly, m.superReadOnly, m.fsType]), [
    ["/", false, false, "ext4"],
    ["/etc/kubernetes", false, false, "tmpfs"],
    ["/etc/kubernetes/pki", true, false, "tmpfs"],
    ["/mnt/with space", false, true, "xfs"],
  ]);
});

test("a path lives on the mount with the longest prefix, by whole path components", () => {
  const mounts = parseMountinfo(MOUNTINFO);
  assert.equal(mountOf(mounts, "/etc/kubernetes/pki/ca.crt")?.point, "/etc/kubernetes/pki");
  assert.equal(mountOf(mounts, "/etc/kubernetes/pkix")?.point, "/etc/kubernetes");
  assert.equal(mountOf(mounts, "/var/lib")?.point, "/");
});

test("lsattr reads the flags of several paths in one run and leaves out the ones it cannot read", async (t) => {
  if (!needTools(t, "lsattr")) return;
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-lsattr-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "a file"), "x");
  const flags = lsattr([dir, join(dir, "a file"), join(dir, "missing")]);
  assert.equal(flags.has(join(dir, "missing")), false);
  for (const p of [dir, join(dir, "a file")]) {
    // Some file systems (overlayfs, older tmpfs) keep no flags: then the path is left out, never guessed.
    if (flags.has(p)) assert.match(flags.get(p)!, /^[-a-zA-Z]+$/);
  }
});
