import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { copySandbox } from "../../test/support/sandbox.js";
import { scanInventory } from "./scan.js";

const ec = { keySpec: { type: "ec", curve: "P-256" } } as const;

test("the inventory of a sandbox has kubeadm's eleven leaves, three CAs and kubelet.conf", async (t) => {
  const root = await copySandbox(t, ec);
  const inv = await scanInventory(root);
  assert.deepEqual(inv.leaves.map((l) => l.spec.name), ["admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client", "controller-manager.conf", "etcd-healthcheck-client", "etcd-peer", "etcd-server", "front-proxy-client", "scheduler.conf", "super-admin.conf"]);
  assert.deepEqual(inv.cas.map((c) => c.spec.name), ["ca", "etcd-ca", "front-proxy-ca"]);
  assert.ok(inv.leaves.every((l) => !l.missing && !l.externallyManaged && l.cert));
  assert.equal(inv.kubelet.embedded, false);
  assert.ok(inv.kubelet.cert, "kubelet's rotated certificate is read through the file kubelet.conf names");
});

test("a kubeconfig that points to certificate files is read through those files, under --root", async (t) => {
  const root = await copySandbox(t, ec);
  const file = join(root, "etc/kubernetes/admin.conf");
  const kc = parse(await readFile(file, "utf8")) as { users: { user: Record<string, string> }[] };
  const user = kc.users[0]!.user;
  await mkdir(join(root, "etc/kubernetes/pki/users"), { recursive: true });
  await writeFile(join(root, "etc/kubernetes/pki/users/admin.crt"), Buffer.from(user["client-certificate-data"]!, "base64"));
  await writeFile(join(root, "etc/kubernetes/pki/users/admin.key"), Buffer.from(user["client-key-data"]!, "base64"), { mode: 0o600 });
  kc.users[0]!.user = { "client-certificate": "/etc/kubernetes/pki/users/admin.crt", "client-key": "pki/users/admin.key" };
  await writeFile(file, stringify(kc));
  const admin = (await scanInventory(root)).leaves.find((l) => l.spec.name === "admin.conf")!;
  assert.equal(admin.certFile, join(root, "etc/kubernetes/pki/users/admin.crt"));
  assert.equal(admin.keyFile, join(root, "etc/kubernetes/pki/users/admin.key"));
  assert.match(admin.cert!.x509.subject, /CN=kubernetes-admin/);
});

test("external etcd drops the etcd CA and the four etcd rows", async (t) => {
  const root = await copySandbox(t, { ...ec, externalEtcd: true });
  const inv = await scanInventory(root);
  assert.equal(inv.externalEtcd, true);
  assert.equal(inv.leaves.length, 7);
  assert.ok(!inv.cas.some((c) => c.spec.name === "etcd-ca"));
});
