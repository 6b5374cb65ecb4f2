import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { copySandbox } from "../../test/support/sandbox.js";
import { credentialsFromKubeconfig } from "./credentials.js";
import { identityOf, sameFingerprint } from "./tls.js";
import { nodeNameOf } from "./endpoint.js";
import { X509Certificate } from "node:crypto";
import { selfSignedServing } from "../simulator/selfsigned.js";

const ec = { keySpec: { type: "ec", curve: "P-256" } } as const;

test("credentials come from a kubeconfig that points to files, with the cluster CA from pki/ca.crt when it names none", async (t) => {
  const root = await copySandbox(t, ec);
  const file = join(root, "etc/kubernetes/admin.conf");
  const kc = parse(await readFile(file, "utf8")) as { users: { user: Record<string, string> }[]; clusters: { cluster: Record<string, string> }[] };
  const embedded = await credentialsFromKubeconfig(file, root);
  await mkdir(join(root, "etc/kubernetes/pki/users"), { recursive: true });
  await writeFile(join(root, "etc/kubernetes/pki/users/admin.crt"), embedded.certPem);
  await writeFile(join(root, "etc/kubernetes/pki/users/admin.key"), embedded.keyPem, { mode: 0o600 });
  kc.users[0]!.user = { "client-certificate": "/etc/kubernetes/pki/users/admin.crt", "client-key": "pki/users/admin.key" };
  delete kc.clusters[0]!.cluster["certificate-authority-data"];
  await writeFile(file, stringify(kc));
  const fromFiles = await credentialsFromKubeconfig(file, root);
  assert.deepEqual(fromFiles, { ...embedded, caPem: await readFile(join(root, "etc/kubernetes/pki/ca.crt"), "utf8") });
  assert.equal(fromFiles.caPem, embedded.caPem);
});

test("fingerprints compare without regard to case or colons", () => {
  assert.equal(sameFingerprint("AB:CD:EF", "abcdef"), true);
  assert.equal(sameFingerprint("AB:CD", "AB:CE"), false);
  assert.equal(sameFingerprint(undefined, undefined), false);
});

test("a certificate made in memory at a process's start names that start in its subject; others name none", async () => {
  const at = Date.UTC(2026, 11, 1, 9, 12, 3);
  const made = await selfSignedServing({ cn: `apiserver-loopback-client@${at / 1000}`, dnsNames: ["apiserver-loopback-client"], notBefore: new Date(at - 3_600_000), notAfter: new Date(at + 86_400_000) });
  assert.equal(identityOf(new X509Certificate(made.cert)).startedAt, at);
  const plain = await selfSignedServing({ cn: "kube-apiserver", dnsNames: ["localhost"], notBefore: new Date(at), notAfter: new Date(at + 86_400_000) });
  assert.equal(identityOf(new X509Certificate(plain.cert)).startedAt, undefined);
});

test("the node name comes from the configuration, else from kubelet.conf's user, as kubeadm writes it", async (t) => {
  const root = await copySandbox(t, { ...ec, nodeName: "cp-7" });
  assert.equal(await nodeNameOf(root, ""), "cp-7");
  assert.equal(await nodeNameOf(root, "override"), "override");
});
