import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { lstat, readFile, readlink, rename, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { scanInventory } from "../inventory/scan.js";
import { memoryLogger } from "../log/logger.js";
import { kubeletClientDue, reissueKubeletClient } from "./kubelet-client.js";

const DAY = 86_400_000;
const PKI = "var/lib/kubelet/pki";

test("the kubelet's client certificate is due only when it has expired or expires within the safety margin", async (t) => {
  const fresh = await scanInventory(await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 }));
  assert.equal(kubeletClientDue(fresh, new Date(), 30).due, false, "65 days left: the kubelet rotates it");
  assert.equal(kubeletClientDue(fresh, new Date(), 70).due, true, "within a margin of 70 days");
  assert.match(kubeletClientDue(fresh, new Date(Date.now() + 70 * DAY), 30).why, /expired on/);
});

test("re-issuing the kubelet's client certificate writes through kubelet-client-current.pem to the file it links to, mode 0600, signed by the cluster CA, with a backup", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 400 });
  // As the kubelet leaves it: a link to the dated file (relative here: an absolute one would leave --root).
  await rename(join(root, PKI, "kubelet-client-current.pem"), join(root, PKI, "kubelet-client-2025-10-28-01-04-00.pem"));
  await symlink("kubelet-client-2025-10-28-01-04-00.pem", join(root, PKI, "kubelet-client-current.pem"));
  const before = await readFile(join(root, PKI, "kubelet-client-2025-10-28-01-04-00.pem"), "utf8");
  const inv = await scanInventory(root);
  assert.equal(kubeletClientDue(inv, new Date(), 30).due, true);
  const log = memoryLogger();
  const r = await reissueKubeletClient({ inv, nodeName: "cp-1", now: new Date(), validityDays: 365, backupDir: join(root, "var/lib/renew-certs/backups"), backupsKept: 10, log });
  assert.ok((await lstat(join(root, PKI, "kubelet-client-current.pem"))).isSymbolicLink(), "the link stays a link");
  assert.equal(await readlink(join(root, PKI, "kubelet-client-current.pem")), "kubelet-client-2025-10-28-01-04-00.pem");
  const pem = await readFile(join(root, PKI, "kubelet-client-2025-10-28-01-04-00.pem"), "utf8");
  assert.equal((await stat(join(root, PKI, "kubelet-client-2025-10-28-01-04-00.pem"))).mode & 0o777, 0o600);
  const cert = new X509Certificate(pem);
  const ca = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/ca.crt")));
  assert.equal(cert.subject, "O=system:nodes\nCN=system:node:cp-1");
  assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
  assert.ok(cert.keyUsage?.includes("1.3.6.1.5.5.7.3.2"), "client auth");
  assert.equal(Date.parse(cert.validTo), r.notAfter.getTime());
  assert.match(pem, /-----BEGIN (EC )?PRIVATE KEY-----/, "certificate and key in the one file");
  assert.ok(!log.lines.some((l) => JSON.stringify(l).includes("PRIVATE KEY")), "no key in the log");
  const backedUp = await readFile(join(r.backup, "files", PKI, "kubelet-client-2025-10-28-01-04-00.pem"), "utf8").catch(async () => readFile(join(r.backup, "files", PKI, "kubelet-client-current.pem"), "utf8"));
  assert.equal(backedUp, before, "the previous certificate is in the backup");
});

test("a kubelet.conf whose client key is in another file than its certificate is refused before anything is written", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 400 });
  const conf = join(root, "etc/kubernetes/kubelet.conf");
  const text = await readFile(conf, "utf8");
  assert.match(text, /client-key: \S+kubelet-client-current\.pem/);
  await writeFile(conf, text.replace(/client-key: \S+kubelet-client-current\.pem/, "client-key: /var/lib/kubelet/pki/kubelet-client.key"));
  const before = await snapshot(root);
  const err = await reissueKubeletClient({ inv: await scanInventory(root), nodeName: "cp-1", now: new Date(), validityDays: 365, backupDir: join(root, "var/lib/renew-certs/backups"), backupsKept: 10, log: memoryLogger() })
    .then(() => assert.fail("re-issued"), (e: unknown) => e as Error);
  assert.match(err.message, /kubelet\.conf names its client key in another file \(\S+kubelet-client\.key\) than its client certificate \S+kubelet-client-current\.pem: .*nothing was changed/);
  assert.deepEqual(await snapshot(root), before);
});

test("a kubelet.conf that embeds an expired client certificate (older kubeadm) gets a re-issued one in place: only its two values change, mode 0600, signed by the cluster CA", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 400 });
  const pem = await readFile(join(root, PKI, "kubelet-client-current.pem"), "utf8");
  const cert = pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + 26);
  const key = pem.slice(cert.length);
  const conf = join(root, "etc/kubernetes/kubelet.conf");
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  await writeFile(conf, "# kubeadm wrote this\n" + (await readFile(conf, "utf8"))
    .replace(/client-certificate: .*/, `client-certificate-data: ${b64(cert)}`)
    .replace(/client-key: .*/, `client-key-data: ${b64(key.trim() + "\n")}`));
  const inv = await scanInventory(root);
  assert.equal(inv.kubelet.embedded, true);
  assert.equal(kubeletClientDue(inv, new Date(), 30).due, true);
  const before = await readFile(conf, "utf8");
  const log = memoryLogger();
  await reissueKubeletClient({ inv, nodeName: "cp-1", now: new Date(), validityDays: 365, backupDir: join(root, "var/lib/renew-certs/backups"), backupsKept: 10, log });
  const after = await readFile(conf, "utf8");
  const strip = (s: string): string => s.replace(/client-(certificate|key)-data: \S+/g, "client-$1-data: X");
  assert.equal(strip(after), strip(before), "every other byte kept");
  assert.equal((await stat(conf)).mode & 0o777, 0o600);
  const newCert = new X509Certificate(Buffer.from(/client-certificate-data: (\S+)/.exec(after)![1]!, "base64"));
  assert.equal(newCert.subject, "O=system:nodes\nCN=system:node:cp-1");
  assert.ok(newCert.verify(new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/ca.crt"))).publicKey));
  assert.ok(Date.parse(newCert.validTo) > Date.now() + 300 * DAY);
  const rescanned = await scanInventory(root);
  assert.equal(kubeletClientDue(rescanned, new Date(), 30).due, false);
  assert.ok(!JSON.stringify(log.lines).includes("PRIVATE KEY"), "no key in the log");
});
