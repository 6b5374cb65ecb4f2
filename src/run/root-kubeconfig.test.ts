import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile, symlink, readlink, stat, lstat } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { memoryLogger } from "../log/logger.js";
import { planRootKubeconfig, refreshRootKubeconfig } from "./root-kubeconfig.js";

const ec = { keySpec: { type: "ec", curve: "P-256" } } as const;
type Kc = { users: { name: string; user: Record<string, string> }[]; clusters: unknown[]; contexts: unknown[] };

/** The sandbox's admin.conf, and a "renewed" one: the same file with other client credentials. */
async function adminPair(root: string): Promise<{ oldAdmin: string; newAdmin: string; newUser: Record<string, string> }> {
  const oldAdmin = await readFile(join(root, "etc/kubernetes/admin.conf"), "utf8");
  const other = parse(await readFile(join(root, "etc/kubernetes/super-admin.conf"), "utf8")) as Kc;
  const newUser = other.users[0]!.user;
  const o = parse(oldAdmin) as Kc;
  const newAdmin = oldAdmin
    .replace(o.users[0]!.user["client-certificate-data"]!, newUser["client-certificate-data"]!)
    .replace(o.users[0]!.user["client-key-data"]!, newUser["client-key-data"]!);
  await writeFile(join(root, "etc/kubernetes/admin.conf"), newAdmin, { mode: 0o600 });
  return { oldAdmin, newAdmin, newUser };
}

async function putRootConfig(root: string, text: string): Promise<string> {
  const file = join(root, "root/.kube/config");
  await mkdir(join(root, "root/.kube"), { recursive: true });
  await writeFile(file, text, { mode: 0o600 });
  return file;
}

test("a byte-identical copy of the old admin.conf becomes the renewed admin.conf, mode kept", async (t) => {
  const root = await copySandbox(t, ec);
  const { oldAdmin, newAdmin } = await adminPair(root);
  const file = await putRootConfig(root, oldAdmin);
  const plan = await refreshRootKubeconfig({ root, oldAdmin, log: memoryLogger() });
  assert.equal(plan.action, "replace");
  assert.equal(await readFile(file, "utf8"), newAdmin);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
});

test("a kubeconfig with other clusters that holds the old admin certificate gets only that user's credentials renewed", async (t) => {
  const root = await copySandbox(t, ec);
  const { oldAdmin, newUser } = await adminPair(root);
  const mine = parse(oldAdmin) as Kc;
  const text = oldAdmin.replace("users:\n", "users:\n- name: someone-else\n  user:\n    token: abc # a comment that stays\n");
  const file = await putRootConfig(root, text);
  assert.equal((parse(text) as Kc).users.length, 2);
  const plan = await refreshRootKubeconfig({ root, oldAdmin, log: memoryLogger() });
  assert.equal(plan.action, "update-credentials");
  const after = await readFile(file, "utf8");
  const kc = parse(after) as Kc;
  assert.deepEqual(kc.users[0], { name: "someone-else", user: { token: "abc" } });
  assert.equal(kc.users[1]!.name, mine.users[0]!.name);
  assert.equal(kc.users[1]!.user["client-certificate-data"], newUser["client-certificate-data"]);
  assert.equal(kc.users[1]!.user["client-key-data"], newUser["client-key-data"]);
  assert.match(after, /token: abc # a comment that stays/);
  assert.deepEqual(kc.clusters, mine.clusters);
});

test("an unrelated or unparseable /root/.kube/config is left byte-identical", async (t) => {
  const root = await copySandbox(t, ec);
  const { oldAdmin } = await adminPair(root);
  for (const text of [await readFile(join(root, "etc/kubernetes/scheduler.conf"), "utf8"), "users: [unclosed\n"]) {
    await putRootConfig(root, text);
    const before = await snapshot(root);
    const plan = await refreshRootKubeconfig({ root, oldAdmin, log: memoryLogger() });
    assert.equal(plan.action, "unrelated");
    assert.deepEqual(await snapshot(root), before);
  }
});

test("a symbolic link to admin.conf stays a link", async (t) => {
  const root = await copySandbox(t, ec);
  const { oldAdmin } = await adminPair(root);
  await mkdir(join(root, "root/.kube"), { recursive: true });
  const file = join(root, "root/.kube/config");
  await symlink("../../etc/kubernetes/admin.conf", file);
  const plan = await refreshRootKubeconfig({ root, oldAdmin, log: memoryLogger() });
  assert.equal(plan.action, "symlink");
  assert.ok((await lstat(file)).isSymbolicLink());
  assert.equal(await readlink(file), "../../etc/kubernetes/admin.conf");
});

test("a missing /root/.kube/config, an up-to-date one and a dry run change nothing", async (t) => {
  const root = await copySandbox(t, ec);
  const { oldAdmin, newAdmin } = await adminPair(root);
  assert.equal((await refreshRootKubeconfig({ root, oldAdmin, log: memoryLogger() })).action, "absent");
  await putRootConfig(root, newAdmin);
  assert.equal((await refreshRootKubeconfig({ root, oldAdmin, log: memoryLogger() })).action, "up-to-date");
  await putRootConfig(root, oldAdmin);
  const before = await snapshot(root);
  const plan = await refreshRootKubeconfig({ root, oldAdmin, log: memoryLogger(), dryRun: true });
  assert.equal(plan.action, "replace");
  assert.deepEqual(await snapshot(root), before);
});

test("other users' copies are left alone, each with a warning naming it and when the old certificate stops working", async (t) => {
  const root = await copySandbox(t, ec);
  const { oldAdmin } = await adminPair(root);
  await mkdir(join(root, "home/alice/.kube"), { recursive: true });
  await writeFile(join(root, "home/alice/.kube/config"), oldAdmin);
  const before = await snapshot(root);
  const log = memoryLogger();
  await refreshRootKubeconfig({ root, oldAdmin, log, oldNotAfter: new Date(Date.UTC(2027, 0, 1)) });
  assert.deepEqual(await snapshot(root), before);
  const warnings = log.lines.filter((l) => l.level === "warn").map((l) => l.msg);
  assert.ok(warnings.some((w) => w.includes(join(root, "home/alice/.kube/config")) && w.includes("2027-01-01")), warnings.join("\n"));
  assert.ok(log.lines.some((l) => l.level === "info" && /copies of admin.conf elsewhere/.test(l.msg)), "the advice about copies nothing shows is an info line");
});

test("the plan is pure: a copy with the old certificate is planned for an update without touching disk", () => {
  const p = planRootKubeconfig({ file: "/root/.kube/config", current: "a", symlink: false, oldAdmin: "a", newAdmin: "b" });
  assert.deepEqual(p, { file: "/root/.kube/config", action: "replace", content: "b", message: p.message });
});
