import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { cp, lstat, mkdir, mkdtemp, readFile, readlink, rename, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "../../test/support/cli.js";
import { copySandbox } from "../../test/support/sandbox.js";
import { needTools, run } from "../../test/support/tools.js";
import { errorLines, treeOf } from "../../test/support/tree.js";
import { parseKubeconfig } from "../kubeconfig/kubeconfig.js";
import type { BackupIndex } from "./backup.js";
import { recoverInterrupted } from "./intent.js";

// Some installers and secret managers keep the certificates elsewhere and link them into
// /etc/kubernetes. kubeadm writes through such links; so does renew-certs, and its backups record
// the link and the bytes it leads to.

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;
const PKI = "etc/kubernetes/pki";
const STATE = "var/lib/renew-certs";

/** Moves `rel` to srv/secrets/ and leaves a link in its place: relative, or absolute (inside the root). */
async function linkAway(root: string, rel: string, absolute: boolean): Promise<{ link: string; target: string; text: string }> {
  const target = join(root, "srv/secrets", rel.split("/").pop()!);
  await mkdir(join(root, "srv/secrets"), { recursive: true });
  await rename(join(root, rel), target);
  const depth = rel.split("/").length - 1;
  const text = absolute ? target : `${"../".repeat(depth)}srv/secrets/${rel.split("/").pop()}`;
  await symlink(text, join(root, rel));
  return { link: join(root, rel), target, text };
}

/** A sandbox whose apiserver pair (the key's link absolute unless `relativeOnly`) and admin.conf are links. */
async function linkedHost(t: TestContext, relativeOnly = false): Promise<{ root: string; links: Awaited<ReturnType<typeof linkAway>>[] }> {
  const root = await copySandbox(t, ec);
  const links = [await linkAway(root, `${PKI}/apiserver.crt`, false), await linkAway(root, `${PKI}/apiserver.key`, !relativeOnly), await linkAway(root, "etc/kubernetes/admin.conf", false)];
  return { root, links };
}

test("renew writes through symbolic links: each link stays as it was and the file it leads to gets the new certificate and key", async (t) => {
  if (!needTools(t, "openssl")) return;
  const { root, links } = await linkedHost(t);
  const old = new X509Certificate(await readFile(links[0]!.target));
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  for (const l of links) {
    assert.ok((await lstat(l.link)).isSymbolicLink(), `${l.link} is still a link`);
    assert.equal(await readlink(l.link), l.text);
  }
  const cert = new X509Certificate(await readFile(links[0]!.target));
  assert.notEqual(cert.serialNumber, old.serialNumber, "the target holds the renewed certificate");
  assert.ok(cert.checkPrivateKey(createPrivateKey(await readFile(links[1]!.target))), "and the key beside it matches");
  assert.equal((await stat(links[1]!.target)).mode & 0o777, 0o600);
  const verify = run("openssl", ["verify", "-CAfile", join(root, PKI, "ca.crt"), join(root, PKI, "apiserver.crt")]);
  assert.equal(verify.status, 0, verify.stderr);
  const admin = await parseKubeconfig(await readFile(links[2]!.target, "utf8"), links[2]!.target, root);
  assert.ok(admin.clientCertificate?.kind === "data" && !admin.clientCertificate.pem.includes(old.toString()));
  const stray = [...(await treeOf(root)).keys()].filter((p) => p.endsWith(".tmp"));
  assert.deepEqual(stray, [], "no temporary file left beside a link or its target");
});

test("the backup records each link and its target's bytes, and restore puts both back", async (t) => {
  const { root, links } = await linkedHost(t);
  const before = await treeOf(root, [STATE]);
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  const backup = /backup in (\S+)/.exec(r.stdout)![1]!;
  const index = JSON.parse(await readFile(join(backup, "backup.json"), "utf8")) as BackupIndex;
  const entry = index.files.find((f) => f.path === `${PKI}/apiserver.key`);
  assert.deepEqual(entry?.link, { text: links[1]!.text, target: "srv/secrets/apiserver.key" });
  assert.equal(entry?.mode, 0o600, "the target's mode");
  // Someone replaces a link by a plain file meanwhile: restore makes it the link it was.
  await rm(links[0]!.link);
  await cp(links[0]!.target, links[0]!.link);
  const back = cli(["restore", "latest", "--root", root]);
  assert.equal(back.status, 0, back.stderr);
  assert.deepEqual(await treeOf(root, [STATE]), before, "links, their text and their targets' bytes as before the renewal");
});

test("a run killed at any point while writing through links is completed or rolled back, links kept and no temporary file left", async (t) => {
  const { root: root0 } = await linkedHost(t, true); // relative links, so that the copies lead into themselves
  const base = await mkdtemp(join(tmpdir(), "renew-certs-linkcrash-"));
  t.after(() => rm(base, { recursive: true, force: true }));
  const seen = new Set<string>();
  for (let step = 3; ; step += 5) {
    assert.ok(step < 200, "the run ends in fewer steps");
    const root = join(base, `s${step}`);
    await cp(root0, root, { recursive: true, verbatimSymlinks: true });
    const old = await treeOf(root, [STATE]);
    const r = cli(["renew", "all", "--root", root], { env: { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(step) } });
    if (r.status === 0) break;
    assert.equal(r.status, -1, r.stderr);
    const recovery = await recoverInterrupted(root, join(root, STATE));
    seen.add(recovery.action);
    const now = await treeOf(root, [STATE]);
    if (recovery.action === "restored" || recovery.action === "none") assert.deepEqual(now, old, `killed at step ${step}: the old set`);
    for (const p of [`${PKI}/apiserver.crt`, `${PKI}/apiserver.key`, "etc/kubernetes/admin.conf"]) assert.match(now.get(p) ?? "", /^link /, `${p} after step ${step}`);
    assert.deepEqual([...now.keys()].filter((p) => p.endsWith(".tmp")), [], `no temporary file after step ${step}`);
  }
  t.diagnostic(`recoveries seen: ${[...seen].join(", ")}`);
  assert.ok(seen.has("restored") && seen.has("completed"));
});

const dangling = [
  // A certificate that looked missing was skipped with a warning, and left to expire.
  { name: "a certificate whose link leads nowhere (its secret mount is missing) instead of skipping it", what: "certificate", file: `${PKI}/apiserver.crt`, text: "/run/secrets-not-mounted/apiserver.crt" },
  { name: "a key whose link leads nowhere, naming the link", what: "key", file: `${PKI}/front-proxy-client.key`, text: "../../../srv/gone/front-proxy-client.key" },
];

for (const d of dangling) {
  test(`renew refuses ${d.name}, and writes nothing`, async (t) => {
    const root = await copySandbox(t, ec);
    await rm(join(root, d.file));
    await symlink(d.text, join(root, d.file));
    await mkdir(join(root, STATE), { recursive: true });
    const before = await treeOf(root);
    const r = cli(["renew", "all", "--root", root]);
    assert.equal(r.status, 4, r.stderr);
    assert.equal(r.stderr, `error: ${d.what} ${join(root, d.file)} is a symbolic link to ${d.text}, which does not exist: put that file back (is its file system mounted?) or replace the link with the file\n`);
    assert.deepEqual(await treeOf(root), before);
  });
}

test("renew refuses a link that leads outside --root (on a mounted disk it would write this machine's file) and changes neither tree", async (t) => {
  const root = await copySandbox(t, ec);
  const elsewhere = await mkdtemp(join(tmpdir(), "renew-certs-elsewhere-"));
  t.after(() => rm(elsewhere, { recursive: true, force: true }));
  await rename(join(root, PKI, "apiserver.key"), join(elsewhere, "apiserver.key"));
  await symlink(join(elsewhere, "apiserver.key"), join(root, PKI, "apiserver.key"));
  await mkdir(join(root, STATE), { recursive: true });
  const [inside, outside] = [await treeOf(root), await treeOf(elsewhere)];
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 4, r.stderr);
  assert.equal(errorLines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^error: key \\S+/pki/apiserver\\.key is a symbolic link to \\S+/apiserver\\.key, which leads outside --root \\S+ \\(to \\S+\\): renew-certs writes only under --root .*; nothing was changed$`, "m"));
  assert.deepEqual([await treeOf(root), await treeOf(elsewhere)], [inside, outside]);
});
