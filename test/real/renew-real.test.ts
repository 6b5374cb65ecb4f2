import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:tls";
import { X509Certificate } from "node:crypto";
import { copySandbox, snapshot } from "../support/sandbox.js";
import { needTools, run } from "../support/tools.js";
import { cli } from "../support/cli.js";
import { startEtcd, etcdctl } from "../support/etcd.js";
import { LEAVES, CAS } from "../../src/inventory/catalog.js";

const PKI = "etc/kubernetes/pki";
const DAY = 86_400_000;

function caCrt(root: string, ca: string): string {
  return join(root, PKI, `${CAS.find((c) => c.name === ca)!.baseName}.crt`);
}

/** The PEM of a leaf's certificate: the .crt, or the kubeconfig's data as kubectl reads it. */
async function leafPem(t: { name: string }, root: string, leaf: (typeof LEAVES)[number]): Promise<string> {
  if (leaf.kind === "pair") return readFile(join(root, PKI, `${leaf.baseName}.crt`), "utf8");
  const r = run("kubectl", ["config", "view", "--raw", "--kubeconfig", join(root, "etc/kubernetes", leaf.baseName), "-o", "jsonpath={.users[0].user.client-certificate-data}"]);
  assert.equal(r.status, 0, `${t.name}: kubectl could not read ${leaf.baseName}: ${r.stderr}`);
  return Buffer.from(r.stdout, "base64").toString();
}

function opensslFacts(pemFile: string): { subject: string; sans: string; ku: string; eku: string } {
  const text = run("openssl", ["x509", "-in", pemFile, "-noout", "-subject", "-ext", "subjectAltName,keyUsage,extendedKeyUsage", "-nameopt", "RFC2253"]).stdout;
  const block = (name: string): string => (text.split(new RegExp(`X509v3 ${name}:.*\\n`))[1] ?? "").split("\n")[0]!.trim();
  return { subject: text.split("\n")[0]!, sans: block("Subject Alternative Name"), ku: block("Key Usage"), eku: block("Extended Key Usage") };
}

for (const keyType of ["rsa-2048", "ecdsa-p256"] as const) {
  const keySpec = keyType === "rsa-2048" ? { type: "rsa", bits: 2048 } as const : { type: "ec", curve: "P-256" } as const;

  test(`renew all on a ${keyType} sandbox of age 300 keeps every identity, changes serial and key, and openssl verifies the result`, async (t) => {
    if (!needTools(t, "openssl", "kubectl")) return;
    const root = await copySandbox(t, { keySpec, ageDays: 300 });
    const before = await snapshot(root);
    const oldPems = new Map<string, string>();
    for (const leaf of LEAVES) oldPems.set(leaf.name, await leafPem(t, root, leaf));
    const startMs = Date.now();
    const r = cli(["renew", "all", "--root", root]);
    const endMs = Date.now();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^11 certificate\(s\) renewed; backup in /);
    const after = await snapshot(root);
    for (const leaf of LEAVES) {
      const newPem = await leafPem(t, root, leaf);
      const oldFile = join(root, `old-${leaf.name}.pem`);
      const newFile = join(root, `new-${leaf.name}.pem`);
      await writeFile(oldFile, oldPems.get(leaf.name)!);
      await writeFile(newFile, newPem);
      assert.deepEqual(opensslFacts(newFile), opensslFacts(oldFile), `${leaf.name}: subject, SANs, key usage and EKU kept`);
      const v = run("openssl", ["verify", "-CAfile", caCrt(root, leaf.ca), newFile]);
      assert.equal(v.status, 0, `${leaf.name}: ${v.stdout}${v.stderr}`);
      const oldCert = new X509Certificate(oldPems.get(leaf.name)!);
      const newCert = new X509Certificate(newPem);
      assert.notEqual(newCert.serialNumber, oldCert.serialNumber, `${leaf.name}: new serial`);
      assert.ok(!newCert.publicKey.export({ type: "spki", format: "der" }).equals(oldCert.publicKey.export({ type: "spki", format: "der" })), `${leaf.name}: new key`);
      const nb = new Date(newCert.validFrom).getTime();
      const na = new Date(newCert.validTo).getTime();
      // kubeadm's backdating: NotBefore is 5 minutes before the renewal's start (second precision), which lies within the command's run.
      assert.ok(nb >= startMs - 5 * 60_000 - 1000 && nb <= endMs - 5 * 60_000, `${leaf.name}: NotBefore 5 minutes before the renewal's start`);
      // One start time for the whole run: NotAfter − NotBefore is exactly 365 days + 5 minutes (second precision).
      assert.equal(Math.round((na - nb) / 1000), (365 * DAY + 5 * 60_000) / 1000, `${leaf.name}: NotAfter 365 days after start`);
      assert.equal(newCert.keyUsage === undefined ? undefined : newCert.keyUsage.join(), oldCert.keyUsage === undefined ? undefined : oldCert.keyUsage.join());
    }
    for (const unchanged of [`${PKI}/ca.crt`, `${PKI}/ca.key`, `${PKI}/etcd/ca.crt`, `${PKI}/etcd/ca.key`, `${PKI}/front-proxy-ca.crt`, `${PKI}/front-proxy-ca.key`, `${PKI}/sa.key`, `${PKI}/sa.pub`, "etc/kubernetes/kubelet.conf", "var/lib/kubelet/pki/kubelet-client-current.pem"]) {
      assert.equal(after.get(unchanged)?.bytes, before.get(unchanged)?.bytes, `${unchanged} is byte-identical`);
    }
    for (const [file, f] of after) if (file.startsWith("etc/") && file.endsWith(".key")) assert.equal(f.mode, 0o600, `${file} is 0600`);
    for (const f of ["admin.conf", "scheduler.conf"]) assert.equal((await stat(join(root, "etc/kubernetes", f))).mode & 0o777, 0o600);
  });
}

test("kubectl reads every renewed kubeconfig and its client certificate verifies against ca.crt", async (t) => {
  if (!needTools(t, "kubectl", "openssl")) return;
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  assert.equal(cli(["renew", "all", "--root", root]).status, 0);
  for (const leaf of LEAVES.filter((l) => l.kind === "kubeconfig")) {
    const pem = await leafPem(t, root, leaf);
    const file = join(root, `${leaf.name}.pem`);
    await writeFile(file, pem);
    assert.equal(run("openssl", ["verify", "-CAfile", join(root, PKI, "ca.crt"), file]).status, 0, leaf.name);
    const ca = run("kubectl", ["config", "view", "--raw", "--kubeconfig", join(root, "etc/kubernetes", leaf.baseName), "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"]);
    assert.equal(Buffer.from(ca.stdout, "base64").toString(), await readFile(join(root, PKI, "ca.crt"), "utf8"), `${leaf.name} carries the current CA`);
  }
});

test("real etcd serves with the renewed server and peer certificates and accepts the renewed client certificates", async (t) => {
  if (!needTools(t, "etcd", "etcdctl")) return;
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  assert.equal(cli(["renew", "all", "--root", root]).status, 0);
  const etcd = await startEtcd(root);
  t.after(() => etcd.stop());
  for (const client of ["apiserver-etcd-client", "healthcheck-client"] as const) {
    const r = etcdctl(root, etcd.endpoint, client, ["endpoint", "health"]);
    assert.equal(r.status, 0, r.stderr);
  }
});

/** One fresh TLS handshake with etcd using the current client files; resolves the served serial. */
async function handshake(root: string, port: number): Promise<string> {
  const pki = join(root, PKI);
  const [ca, cert, key] = await Promise.all([readFile(join(pki, "etcd/ca.crt")), readFile(join(pki, "etcd/healthcheck-client.crt")), readFile(join(pki, "etcd/healthcheck-client.key"))]);
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, ca, cert, key, servername: "localhost" }, () => {
      const serial = s.getPeerX509Certificate()?.serialNumber ?? "";
      s.end();
      resolve(serial);
    });
    s.setTimeout(5000, () => { s.destroy(); reject(new Error("timeout")); });
    s.on("error", reject);
  });
}

test("etcd started on the old certificates keeps accepting fresh handshakes while renew all replaces the files, then serves the new serial", async (t) => {
  if (!needTools(t, "etcd", "etcdctl")) return;
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  const etcd = await startEtcd(root);
  t.after(() => etcd.stop());
  const port = Number(new URL(etcd.endpoint).port);
  const oldSerial = await handshake(root, port);
  const child = (await import("node:child_process")).spawn(process.execPath, [(await import("../support/cli.js")).CLI, "renew", "all", "--root", root], { stdio: "ignore" });
  const exited = new Promise<number>((r) => child.once("exit", (c) => r(c ?? -1)));
  let done = false;
  void exited.then(() => { done = true; });
  let ok = 0;
  let failed = 0;
  let windows = 0;
  const deadline = Date.now() + 30_000;
  // Bounded: until the renewal is over (plus 50 more), at most 2,000 handshakes or 30 s.
  for (let extra = 0, last = true; ok + failed < 2000 && Date.now() < deadline && extra < 50; ) {
    try {
      await handshake(root, port);
      ok++;
      last = true;
    } catch {
      failed++;
      if (last) windows++;
      last = false;
    }
    if (done) extra++;
  }
  assert.equal(await exited, 0);
  t.diagnostic(`live reload: ${ok} handshakes succeeded, ${failed} failed in ${windows} window(s) while 4 etcd certificate pairs were replaced`);
  assert.ok(ok > 0);
  // Handshakes fail only in the instant between a pair's key and certificate renames: at most one
  // window of consecutive failures per replaced pair, however many handshakes a slow machine
  // squeezes into one.
  assert.ok(windows <= 4, `failure windows: ${windows} (${failed} failed handshakes)`);
  const newSerial = await handshake(root, port);
  assert.notEqual(newSerial, oldSerial);
  const onDisk = new X509Certificate(await readFile(join(root, PKI, "etcd/server.crt")));
  assert.equal(newSerial, onDisk.serialNumber);
});
