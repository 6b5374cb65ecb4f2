import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RenewCertsError } from "../errors.js";
import { writeFileAtomic, writeLinkAtomic } from "./atomic.js";
import { isInside, realPathOf } from "./fs.js";

async function scratchDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-atomic-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("a write to a symbolic link replaces its target atomically, in the target's directory, and keeps the link and the target's mode", async (t) => {
  const dir = await scratchDir(t);
  await mkdir(join(dir, "secrets"));
  await mkdir(join(dir, "pki"));
  await writeFile(join(dir, "secrets/apiserver.key"), "old", { mode: 0o640 });
  await chmod(join(dir, "secrets/apiserver.key"), 0o640);
  await symlink("../secrets/apiserver.key", join(dir, "pki/apiserver.key"));
  const steps: string[] = [];
  await writeFileAtomic(join(dir, "pki/apiserver.key"), "new", { what: "key", onStep: (s, f) => steps.push(`${s} ${f}`) });
  assert.equal(await readlink(join(dir, "pki/apiserver.key")), "../secrets/apiserver.key");
  assert.equal(await readFile(join(dir, "secrets/apiserver.key"), "utf8"), "new");
  assert.equal((await stat(join(dir, "secrets/apiserver.key"))).mode & 0o777, 0o640);
  assert.deepEqual(steps, [`temp-written ${join(dir, "pki/apiserver.key")}`, `renamed ${join(dir, "pki/apiserver.key")}`, `dir-synced ${join(dir, "secrets")}`]);
  assert.deepEqual([...(await readdir(join(dir, "secrets"))), ...(await readdir(join(dir, "pki")))].sort(), ["apiserver.key", "apiserver.key"]);
});

test("a chain of links is followed to the file at its end", async (t) => {
  const dir = await scratchDir(t);
  await writeFile(join(dir, "real"), "old");
  await symlink("real", join(dir, "hop"));
  await symlink("hop", join(dir, "link"));
  await writeFileAtomic(join(dir, "link"), "new");
  assert.equal(await readFile(join(dir, "real"), "utf8"), "new");
  assert.equal(await readlink(join(dir, "hop")), "real");
  assert.equal(await readlink(join(dir, "link")), "hop");
});

test("a dangling link is an error naming the link and its text, and nothing is created", async (t) => {
  const dir = await scratchDir(t);
  await symlink("gone/apiserver.crt", join(dir, "apiserver.crt"));
  await assert.rejects(writeFileAtomic(join(dir, "apiserver.crt"), "new", { what: "certificate" }), (e: unknown) => {
    assert.ok(e instanceof RenewCertsError);
    assert.equal(e.code, "LINK");
    assert.equal(e.message, `certificate ${join(dir, "apiserver.crt")} is a symbolic link to gone/apiserver.crt, which does not exist: put that file back (is its file system mounted?) or replace the link with the file`);
    return true;
  });
  assert.deepEqual(await readdir(dir), ["apiserver.crt"]);
});

test("a loop of links is an error, not a hang", async (t) => {
  const dir = await scratchDir(t);
  await symlink("b", join(dir, "a"));
  await symlink("a", join(dir, "b"));
  await assert.rejects(writeFileAtomic(join(dir, "a"), "x", { what: "kubeconfig" }), /kubeconfig \S+\/a is a loop of symbolic links/);
});

test("followLinks: false replaces the link itself with a regular file (a restore puts back what was there)", async (t) => {
  const dir = await scratchDir(t);
  await writeFile(join(dir, "elsewhere"), "keep");
  await symlink("elsewhere", join(dir, "file"));
  await writeFileAtomic(join(dir, "file"), "restored", { followLinks: false, mode: 0o600 });
  assert.ok((await lstat(join(dir, "file"))).isFile());
  assert.equal(await readFile(join(dir, "file"), "utf8"), "restored");
  assert.equal(await readFile(join(dir, "elsewhere"), "utf8"), "keep");
});

test("writeLinkAtomic puts a link in place of a file or another link", async (t) => {
  const dir = await scratchDir(t);
  await writeFile(join(dir, "file"), "x");
  await writeLinkAtomic(join(dir, "file"), "../somewhere/else");
  assert.equal(await readlink(join(dir, "file")), "../somewhere/else");
  await writeLinkAtomic(join(dir, "file"), "target");
  assert.equal(await readlink(join(dir, "file")), "target");
  assert.deepEqual(await readdir(dir), ["file"]);
});

test("realPathOf resolves existing links and follows dangling ones to where a write would land", async (t) => {
  const dir = await scratchDir(t);
  await mkdir(join(dir, "inside"));
  await symlink(join(dir, "inside"), join(dir, "in"));
  await symlink("/nonexistent-renew-certs/dir", join(dir, "out"));
  assert.equal(realPathOf(join(dir, "in/new/file")), join(realpathSync(dir), "inside/new/file"));
  assert.equal(realPathOf(join(dir, "out/file")), "/nonexistent-renew-certs/dir/file");
  assert.equal(isInside("/a/b", "/a/b/c"), true);
  assert.equal(isInside("/a/b", "/a/b"), true);
  assert.equal(isInside("/a/b", "/a/bc"), false);
  assert.equal(isInside("/a/b", "/a/b/..c"), true, "a name starting with two dots is inside");
  assert.equal(isInside("/a/b", "/a"), false);
});
