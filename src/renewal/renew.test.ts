import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile, mkdtemp, rm, mkdir } from "node:fs/promises";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { parse, stringify } from "yaml";
import { cli, CLI } from "../../test/support/cli.js";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { needTools, run } from "../../test/support/tools.js";
import { createSandbox } from "../sandbox/sandbox.js";
import { readRecord, type Intent } from "./intent.js";

const PKI = "etc/kubernetes/pki";
const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;

/** The snapshot without renew-certs' own state (backups, lock): the control plane's files. */
function controlPlane(s: Awaited<ReturnType<typeof snapshot>>): Map<string, string> {
  return new Map([...s].filter(([p]) => !p.startsWith("var/lib/renew-certs")).map(([p, f]) => [p, `${f.mode.toString(8)}:${f.bytes}`]));
}

test("renew --dry-run leaves every byte and mtime unchanged and says what it would write", async (t) => {
  const root = await copySandbox(t, ec);
  const before = await snapshot(root);
  const r = cli(["renew", "all", "--dry-run", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /would renew apiserver\s+until/);
  assert.match(r.stdout, /write .*pki\/apiserver\.key/);
  assert.match(r.stdout, /11 certificate\(s\) would be renewed; --dry-run: nothing was written/);
  assert.deepEqual(await snapshot(root), before);
});

test("restore brings back the previous state byte for byte, modes included", async (t) => {
  const root = await copySandbox(t, ec);
  const before = controlPlane(await snapshot(root));
  assert.equal(cli(["renew", "all", "--root", root]).status, 0);
  assert.notDeepEqual(controlPlane(await snapshot(root)), before);
  const list = cli(["restore", "--list", "--root", root]);
  assert.match(list.stdout, /^\d{8}T\d{6}\.\d{3}Z$/m);
  const r = cli(["restore", "latest", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^restored 18 file\(s\) from /);
  assert.deepEqual(controlPlane(await snapshot(root)), before);
});

test("renew names only the certificates asked for", async (t) => {
  const root = await copySandbox(t, ec);
  const before = await snapshot(root);
  assert.equal(cli(["renew", "apiserver", "admin.conf", "--root", root]).status, 0);
  const after = await snapshot(root);
  const changed = [...after.keys()].filter((k) => !k.startsWith("var/") && after.get(k)?.bytes !== before.get(k)?.bytes).sort();
  assert.deepEqual(changed, ["etc/kubernetes/admin.conf", `${PKI}/apiserver.crt`, `${PKI}/apiserver.key`]);
});

test("renew refuses an unknown name, naming the valid ones", () => {
  const r = cli(["renew", "apiserverr", "--root", "/nonexistent"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown certificate apiserverr: choose all or any of admin\.conf, apiserver,/);
});

test("renew skips the certificates of an external CA with kubeadm's message and renews the rest", async (t) => {
  const root = await copySandbox(t, { ...ec, externalCa: true });
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /external CA detected \(ca has no key\): certificate for serving the Kubernetes API can't be renewed/);
  assert.match(r.stdout, /^5 certificate\(s\) renewed/, "the etcd and front-proxy certificates");
});

test("renew skips a missing super-admin.conf with an info line", async (t) => {
  const root = await copySandbox(t, ec);
  await rm(join(root, "etc/kubernetes/super-admin.conf"));
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^info: super-admin\.conf is not on this host \(normal on every control-plane host but the first\): skipped/m);
  assert.match(r.stdout, /^10 certificate\(s\) renewed/);
});

test("a leaf valid beyond its CA's expiry is capped at the CA's NotAfter with a loud warning", async (t) => {
  const root = await copySandbox(t, ec);
  const r = cli(["renew", "apiserver", "--validity-days", "3650", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^warn: CERTIFICATE apiserver CAPPED AT ITS CA'S EXPIRY: CA ca has only 3349 days left/m);
  const { X509Certificate } = await import("node:crypto");
  const leaf = new X509Certificate(await readFile(join(root, PKI, "apiserver.crt")));
  const ca = new X509Certificate(await readFile(join(root, PKI, "ca.crt")));
  assert.equal(leaf.validTo, ca.validTo);
});

test("a kubeconfig that points to certificate files gets those files renewed and keeps its references", async (t) => {
  const root = await copySandbox(t, ec);
  const file = join(root, "etc/kubernetes/admin.conf");
  const kc = parse(await readFile(file, "utf8")) as { users: { user: Record<string, string> }[] };
  const user = kc.users[0]!.user;
  await mkdir(join(root, "etc/kubernetes/pki/users"));
  await writeFile(join(root, "etc/kubernetes/pki/users/admin.crt"), Buffer.from(user["client-certificate-data"]!, "base64"));
  await writeFile(join(root, "etc/kubernetes/pki/users/admin.key"), Buffer.from(user["client-key-data"]!, "base64"), { mode: 0o600 });
  kc.users[0]!.user = { "client-certificate": "/etc/kubernetes/pki/users/admin.crt", "client-key": "/etc/kubernetes/pki/users/admin.key" };
  await writeFile(file, stringify(kc, { indentSeq: false }));
  const kcBefore = await readFile(file, "utf8");
  const crtBefore = await readFile(join(root, "etc/kubernetes/pki/users/admin.crt"), "utf8");
  assert.equal(cli(["renew", "admin.conf", "--root", root]).status, 0);
  assert.equal(await readFile(file, "utf8"), kcBefore, "the kubeconfig still points to the files");
  assert.notEqual(await readFile(join(root, "etc/kubernetes/pki/users/admin.crt"), "utf8"), crtBefore);
});

test("a kubeconfig's comments, other users and contexts survive a renewal", async (t) => {
  const root = await copySandbox(t, ec);
  const file = join(root, "etc/kubernetes/scheduler.conf");
  const text = (await readFile(file, "utf8")).replace("users:\n", "users:\n# an operator's note\n- name: someone-else\n  user:\n    token: abc\n");
  await writeFile(file, "# managed by kubeadm\n" + text);
  assert.equal(cli(["renew", "scheduler.conf", "--root", root]).status, 0);
  const after = await readFile(file, "utf8");
  assert.match(after, /^# managed by kubeadm\n/);
  assert.match(after, /# an operator's note\n- name: someone-else\n {2}user:\n {4}token: abc\n/);
});

test("a second renewal waits for the lock, then exits naming the holder's pid", async (t) => {
  const root = await copySandbox(t, ec);
  await mkdir(join(root, "var/lib/renew-certs"), { recursive: true });
  const holder = spawn("sleep", ["30"]);
  t.after(() => holder.kill());
  await writeFile(join(root, "var/lib/renew-certs/lock"), `${holder.pid}\n`);
  const before = controlPlane(await snapshot(root));
  const r = cli(["renew", "all", "--lock-timeout", "1", "--root", root]);
  assert.equal(r.status, 5);
  assert.match(r.stderr, new RegExp(`another renew-certs run \\(pid ${holder.pid}\\) holds .*lock: wait for it to finish`));
  assert.deepEqual(controlPlane(await snapshot(root)), before);
});

test("a lock left by a dead process is taken over", async (t) => {
  const root = await copySandbox(t, ec);
  await mkdir(join(root, "var/lib/renew-certs"), { recursive: true });
  const dead = spawnSync("true").pid;
  await writeFile(join(root, "var/lib/renew-certs/lock"), `${dead}\n`);
  assert.equal(cli(["renew", "apiserver", "--root", root]).status, 0);
});

test("a run killed after any single write step is completed or rolled back by the next one, never a mix", async (t) => {
  const root0 = await copySandbox(t, ec);
  const base = await mkdtemp(join(tmpdir(), "renew-certs-crash-"));
  t.after(() => rm(base, { recursive: true, force: true }));
  const { cp } = await import("node:fs/promises");
  const outcomes = { old: 0, new: 0 };
  for (let step = 1; ; step++) {
    const root = join(base, `s${step}`);
    await cp(root0, root, { recursive: true });
    const old = controlPlane(await snapshot(root));
    const r = cli(["renew", "all", "--root", root], { env: { RENEW_CERTS_TEST_KILL_AFTER_STEP: String(step) } });
    if (r.status === 0) {
      assert.ok(step > 20, "the run has backup, intent and ~40 file steps");
      break;
    }
    assert.equal(r.status, -1, `killed at step ${step}: ${r.stderr}`);
    const intent = await readRecord(join(root, "var/lib/renew-certs")) as Intent | undefined;
    // The next invocation recovers, says which way, and leaves a complete set.
    const { recoverInterrupted } = await import("./intent.js");
    const recovery = await recoverInterrupted(root, join(root, "var/lib/renew-certs"));
    const now = controlPlane(await snapshot(root));
    if (recovery.action === "completed") {
      outcomes.new++;
      for (const f of intent!.files) assert.ok(now.has(f.path));
      assert.notDeepEqual(now, old);
    } else {
      outcomes.old++;
      assert.deepEqual(now, old, `killed at step ${step}: the old set is back`);
    }
    assert.equal(await readRecord(join(root, "var/lib/renew-certs")), undefined);
    const stray = [...now.keys()].filter((p) => /\.renew-certs-[0-9a-f]{8}\.tmp$/.test(p));
    assert.deepEqual(stray, [], "no temporary files left");
    await rm(root, { recursive: true, force: true });
  }
  t.diagnostic(`crash points: ${outcomes.old} rolled back to the old set, ${outcomes.new} completed to the new set`);
  assert.ok(outcomes.old > 0 && outcomes.new > 0);
});

test("the next renew after a crash reports the recovery and renews", async (t) => {
  const root = await copySandbox(t, ec);
  const killed = cli(["renew", "all", "--root", root], { env: { RENEW_CERTS_TEST_KILL_AFTER_STEP: "12" } });
  assert.equal(killed.status, -1);
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^warn: an interrupted renewal was rolled back: restored the previous files from its backup/m);
});

/** Bad inputs: one clear line naming the file, exit non-zero, every control-plane file unchanged. */
const bad: { name: string; damage: (root: string) => Promise<void>; expect: RegExp; code: number }[] = [
  {
    name: "a CA key that does not match its certificate",
    damage: async (r) => writeFile(join(r, PKI, "front-proxy-ca.key"), await readFile(join(r, PKI, "ca.key"))),
    expect: /CA key .*front-proxy-ca\.key does not match its certificate .*front-proxy-ca\.crt/, code: 4,
  },
  {
    name: "a leaf not signed by its CA",
    damage: async (r) => {
      const other = await mkdtemp(join(tmpdir(), "renew-certs-other-"));
      await createSandbox(other, { keySpec: { type: "ec", curve: "P-256" } });
      for (const ext of ["crt", "key"]) await writeFile(join(r, PKI, `apiserver.${ext}`), await readFile(join(other, PKI, `apiserver.${ext}`)));
      await rm(other, { recursive: true, force: true });
    },
    expect: /certificate .*pki\/apiserver\.crt \(apiserver\) is not signed by CA .*pki\/ca\.crt/, code: 4,
  },
  {
    name: "a leaf key that does not match its certificate",
    damage: async (r) => writeFile(join(r, PKI, "front-proxy-client.key"), await readFile(join(r, PKI, "apiserver.key"))),
    expect: /key .*front-proxy-client\.key does not match its certificate .*front-proxy-client\.crt/, code: 4,
  },
  {
    name: "a kubeconfig whose embedded certificate is not base64",
    damage: async (r) => { const f = join(r, "etc/kubernetes/admin.conf"); await writeFile(f, (await readFile(f, "utf8")).replace(/client-certificate-data: \S+/, "client-certificate-data: not*base64!")); },
    expect: /admin\.conf \(users\[kubernetes-admin\]\.user\.client-certificate-data\) is not base64 data/, code: 4,
  },
];

for (const b of bad) {
  test(`renew refuses ${b.name} and writes nothing`, async (t) => {
    const root = await copySandbox(t, ec);
    await b.damage(root);
    const before = controlPlane(await snapshot(root));
    const r = cli(["renew", "all", "--root", root]);
    assert.equal(r.status, b.code, r.stderr);
    assert.match(r.stderr, b.expect);
    assert.equal(r.stderr.trim().split("\n").filter((l) => l.startsWith("error:")).length, 1);
    assert.deepEqual(controlPlane(await snapshot(root)), before);
  });
}

test("renew refuses a leaf with an unsupported key type (Ed25519) and writes nothing", async (t) => {
  if (!needTools(t, "openssl")) return;
  const root = await copySandbox(t, ec);
  const p = join(root, PKI);
  const made = run("openssl", ["req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", join(p, "front-proxy-client.key"), "-out", join(p, "front-proxy-client.crt"), "-subj", "/CN=front-proxy-client", "-CA", join(p, "front-proxy-ca.crt"), "-CAkey", join(p, "front-proxy-ca.key"), "-days", "30"]);
  assert.equal(made.status, 0, made.stderr);
  const before = controlPlane(await snapshot(root));
  const r = cli(["renew", "all", "--root", root]);
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /front-proxy-client\.crt uses an unsupported key type \(ed25519\): renew-certs renews RSA 2048\/3072\/4096 and ECDSA P-256\/P-384 keys/);
  assert.deepEqual(controlPlane(await snapshot(root)), before);
});

test("renew without names explains what to pass", () => {
  const r = cli(["renew"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /say what to renew: renew-certs renew all, or any of admin\.conf/);
  assert.ok(CLI.endsWith("main.js"));
});

test("renew on a root that does not exist says so and creates nothing there", () => {
  const r = cli(["renew", "all", "--root", "/tmp/renew-certs-no-such-root"]);
  assert.equal(r.status, 4);
  assert.equal(r.stderr, "error: root /tmp/renew-certs-no-such-root does not exist: pass the directory that holds etc/kubernetes with --root\n");
  assert.equal(spawnSync("test", ["-e", "/tmp/renew-certs-no-such-root"]).status, 1);
});
