import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { cli } from "../../test/support/cli.js";
import { copySandbox } from "../../test/support/sandbox.js";
import { needTools, run } from "../../test/support/tools.js";

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;

test("a kubeconfig of mode 0644 that receives a new private key is written 0600, and the log says so", async (t) => {
  const root = await copySandbox(t, ec);
  const admin = join(root, "etc/kubernetes/admin.conf");
  const key = join(root, "etc/kubernetes/pki/apiserver.key");
  await chmod(admin, 0o644);
  await chmod(key, 0o640);
  const r = cli(["renew", "admin.conf", "apiserver", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await stat(admin)).mode & 0o777, 0o600);
  assert.equal((await stat(key)).mode & 0o777, 0o600);
  assert.match(r.stderr, new RegExp(`^warn: ${admin} had mode 0644; it holds a private key, so it is written with mode 0600$`, "m"));
  assert.match(r.stderr, new RegExp(`^warn: ${key} had mode 0640; it holds a private key, so it is written with mode 0600$`, "m"));
  assert.equal(r.stderr.split("\n").filter((l) => / had mode /.test(l)).length, 2, "only the files whose mode changed");
});

test("a kubeconfig whose key lives in a file keeps its mode; the key file gets 0600", async (t) => {
  if (!needTools(t, "kubectl")) return;
  const root = await copySandbox(t, ec);
  const kc = join(root, "etc/kubernetes/scheduler.conf");
  const data = (field: string): string => Buffer.from(run("kubectl", ["config", "view", "--raw", "--kubeconfig", kc, "-o", `jsonpath={.users[0].user.${field}}`]).stdout, "base64").toString();
  const { writeFile } = await import("node:fs/promises");
  const pem = join(root, "etc/kubernetes/pki/scheduler.pem");
  await writeFile(pem, data("client-certificate-data") + data("client-key-data"), { mode: 0o644 });
  const text = (await readFile(kc, "utf8")).replace(/client-certificate-data: .*/, "client-certificate: /etc/kubernetes/pki/scheduler.pem").replace(/client-key-data: .*/, "client-key: /etc/kubernetes/pki/scheduler.pem");
  await writeFile(kc, text, { mode: 0o644 });
  await chmod(kc, 0o644);
  await chmod(pem, 0o644);
  const r = cli(["renew", "scheduler.conf", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await stat(pem)).mode & 0o777, 0o600, "the file with the key");
  assert.equal((await stat(kc)).mode & 0o777, 0o644, "the kubeconfig holds no key: its mode is the operator's");
  assert.match(r.stderr, /scheduler\.pem had mode 0644; it holds a private key/);
});
