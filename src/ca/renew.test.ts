import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cli } from "../../test/support/cli.js";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { needTools, run } from "../../test/support/tools.js";
import { createSandbox } from "../sandbox/sandbox.js";

const PKI = "etc/kubernetes/pki";
const K8S = "etc/kubernetes";
const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;
/** A control plane made eleven years ago: its CAs (10 years) and leaves (1 year) have all expired. */
const expired = { keySpec: { type: "ec", curve: "P-256" }, now: new Date(Date.UTC(2015, 11, 1)) } as const;
const KUBECONFIGS = ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"];
/** Every leaf of each CA in a sandbox. */
const LEAVES: Record<string, string[]> = {
  "ca.crt": ["apiserver.crt", "apiserver-kubelet-client.crt"],
  "etcd/ca.crt": ["etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt", "apiserver-etcd-client.crt"],
  "front-proxy-ca.crt": ["front-proxy-client.crt"],
};

/** The join hash of a CA file: `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum`. */
function joinHash(crt: string): string {
  const r = run("sh", ["-c", `openssl x509 -in '${crt}' -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split(" ")[0]!;
}

/** Every client certificate embedded in the sandbox's kubeconfigs, written out for openssl. */
async function kubeconfigClients(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const k of ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"]) {
    const r = run("kubectl", ["config", "view", "--raw", "--kubeconfig", join(root, K8S, k), "-o", "jsonpath={.users[0].user.client-certificate-data}"]);
    assert.equal(r.status, 0, r.stderr);
    const file = join(dir, `${k}.crt`);
    await writeFile(file, Buffer.from(r.stdout, "base64"));
    out.push(file);
  }
  out.push(join(root, "var/lib/kubelet/pki/kubelet-client-current.pem"));
  return out;
}

/** The CA data kubectl reads from a kubeconfig, decoded. */
function caDataOf(kubeconfig: string): string {
  const r = run("kubectl", ["--kubeconfig", kubeconfig, "config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"]);
  assert.equal(r.status, 0, r.stderr);
  return Buffer.from(r.stdout, "base64").toString("utf8");
}

test("ca renew all keeps every old leaf valid (openssl verify), the join hash, and changes only the CA data of the kubeconfigs, which kubectl reads", async (t) => {
  if (!needTools(t, "openssl", "kubectl")) return;
  const root = await copySandbox(t, ec);
  await mkdir(join(root, "root/.kube"), { recursive: true });
  await copyFile(join(root, K8S, "admin.conf"), join(root, "root/.kube/config"));
  const before = await snapshot(root);
  const hashes = Object.keys(LEAVES).map((ca) => joinHash(join(root, PKI, ca)));
  const r = cli(["ca", "renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^re-signed ca with its own key: serial [0-9A-F]+, valid .* \(was until /m);
  assert.match(r.stdout, /restart kube-controller-manager: it read etc\/kubernetes\/pki\/ca\.crt \(--root-ca-file/);
  assert.match(r.stdout, /restart etcd: it read etc\/kubernetes\/pki\/etcd\/ca\.crt/);
  assert.match(r.stdout, /kubectl config set clusters\.kubernetes\.certificate-authority-data "\$\(base64 -w0 < .*pki\/ca\.crt\)"/);
  assert.deepEqual(Object.keys(LEAVES).map((ca) => joinHash(join(root, PKI, ca))), hashes, "the join hash of every CA is unchanged");
  const out = await mkdtemp(join(tmpdir(), "renew-certs-clients-"));
  t.after(() => rm(out, { recursive: true, force: true }));
  const clients = await kubeconfigClients(root, out);
  for (const [ca, leaves] of Object.entries(LEAVES)) {
    const all = [...leaves.map((l) => join(root, PKI, l)), ...(ca === "ca.crt" ? clients : [])];
    const v = run("openssl", ["verify", "-CAfile", join(root, PKI, ca), ...all]);
    assert.equal(v.status, 0, `${ca}: ${v.stdout}${v.stderr}`);
    assert.equal((v.stdout.match(/: OK$/gm) ?? []).length, all.length);
    assert.equal((await readFile(join(root, PKI, ca), "utf8")).match(/BEGIN CERTIFICATE/g)?.length, 1, "exactly one certificate in the CA file");
  }
  const caPem = await readFile(join(root, PKI, "ca.crt"), "utf8");
  for (const k of [...KUBECONFIGS.map((k) => join(K8S, k)), "root/.kube/config"]) {
    assert.equal(caDataOf(join(root, k)), caPem, `${k} holds the new CA`);
    const was = Buffer.from(before.get(k)!.bytes, "base64").toString("utf8");
    const now = await readFile(join(root, k), "utf8");
    const strip = (s: string): string => s.replace(/certificate-authority-data: \S+/, "certificate-authority-data: X");
    assert.equal(strip(now), strip(was), `${k}: only certificate-authority-data changed`);
  }
  const after = await snapshot(root);
  for (const [p, f] of before) if (after.has(p) && !p.startsWith("var/")) assert.equal(after.get(p)!.mode, f.mode, `${p} keeps its mode`);
  const changed = [...after.keys()].filter((k) => !k.startsWith("var/") && after.get(k)?.bytes !== before.get(k)?.bytes).sort();
  assert.deepEqual(changed, [...KUBECONFIGS.map((k) => `${K8S}/${k}`), `${PKI}/ca.crt`, `${PKI}/etcd/ca.crt`, `${PKI}/front-proxy-ca.crt`, "root/.kube/config"].sort());
});

test("the printed kubectl command refreshes a user's copy of admin.conf", async (t) => {
  if (!needTools(t, "kubectl")) return;
  const root = await copySandbox(t, ec);
  const copy = join(root, "user.conf");
  await copyFile(join(root, K8S, "admin.conf"), copy);
  const r = cli(["ca", "renew", "ca", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  const command = /^\s+(kubectl config set clusters\..*)$/m.exec(r.stdout)![1]!;
  const set = run("sh", ["-c", command], { env: { ...process.env, KUBECONFIG: copy } });
  assert.equal(set.status, 0, set.stderr);
  assert.equal(caDataOf(copy), await readFile(join(root, PKI, "ca.crt"), "utf8"));
});

test("a control plane whose CAs and leaves expired a year ago: ca renew brings the CAs back, the old leaves chain to them, and renew then works", async (t) => {
  if (!needTools(t, "openssl")) return;
  const root = await copySandbox(t, expired);
  const refused = cli(["renew", "all", "--root", root]);
  assert.equal(refused.status, 13, "leaves cannot be renewed under an expired CA");
  const r = cli(["ca", "renew", "all", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /deadline 2025-11-\d\dT.*\(already passed: restart now\)/);
  for (const [ca, leaves] of Object.entries(LEAVES)) {
    // The old leaves have expired: their chain is checked without the time (they are renewed next).
    const v = run("openssl", ["verify", "-no_check_time", "-CAfile", join(root, PKI, ca), ...leaves.map((l) => join(root, PKI, l))]);
    assert.equal(v.status, 0, `${ca}: ${v.stdout}${v.stderr}`);
    const plain = run("openssl", ["verify", "-CAfile", join(root, PKI, ca), join(root, PKI, leaves[0]!)]);
    assert.match(plain.stdout + plain.stderr, /certificate has expired/, "the leaf itself is still expired");
  }
  const renewed = cli(["renew", "all", "--root", root]);
  assert.equal(renewed.status, 0, renewed.stderr);
  for (const [ca, leaves] of Object.entries(LEAVES)) {
    const v = run("openssl", ["verify", "-CAfile", join(root, PKI, ca), ...leaves.map((l) => join(root, PKI, l))]);
    assert.equal(v.status, 0, `${ca} after renew: ${v.stdout}${v.stderr}`);
  }
});

test("ca status shows each location's certificate: current, old of the same key, or another key's; the deadline after a renewal; -o json", async (t) => {
  const root = await copySandbox(t, ec);
  await mkdir(join(root, "root/.kube"), { recursive: true });
  await copyFile(join(root, K8S, "admin.conf"), join(root, "root/.kube/config"));
  const oldCaNotAfter = (JSON.parse(cli(["ca", "status", "-o", "json", "--root", root]).stdout) as { cas: { notAfter: string }[] }).cas[0]!.notAfter;
  // Another cluster's CA in super-admin.conf: not this CA, left alone.
  const other = await mkdtemp(join(tmpdir(), "renew-certs-other-"));
  t.after(() => rm(other, { recursive: true, force: true }));
  await createSandbox(other, { keySpec: { type: "ec", curve: "P-256" } });
  const superAdmin = join(root, K8S, "super-admin.conf");
  const otherCa = /certificate-authority-data: (\S+)/.exec(await readFile(join(other, K8S, "admin.conf"), "utf8"))![1]!;
  await writeFile(superAdmin, (await readFile(superAdmin, "utf8")).replace(/certificate-authority-data: \S+/, `certificate-authority-data: ${otherCa}`));
  const superBefore = await readFile(superAdmin, "utf8");
  const r = cli(["ca", "renew", "ca", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /left .*super-admin\.conf as it is: its CA data is a certificate of another key/);
  assert.equal(await readFile(superAdmin, "utf8"), superBefore);
  // A user's copy made before the renewal comes back: it holds the old certificate.
  await copyFile(join(root, "var/lib/renew-certs/backups", (await import("node:fs")).readdirSync(join(root, "var/lib/renew-certs/backups"))[0]!, "files", K8S, "admin.conf"), join(root, "root/.kube/config"));
  const table = cli(["ca", "status", "--root", root]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`deadline: +${oldCaNotAfter.slice(0, 16).replace("T", " ")} UTC: everything that trusts ca must hold the new certificate by then`));
  assert.match(table.stdout, /root\/\.kube\/config +kubectl certificate-authority-data +next-command +OLD certificate, same key \(serial [0-9A-F]+, expires /);
  assert.match(table.stdout, /super-admin\.conf +kubectl certificate-authority-data +next-command +a certificate of ANOTHER key/);
  assert.match(table.stdout, /controller-manager\.conf +kube-controller-manager certificate-authority-data +restart +current certificate/);
  const json = JSON.parse(cli(["ca", "status", "-o", "json", "--root", root]).stdout) as { cas: { ca: string; deadline?: string; renewedAt?: string; locations: { path: string; holds: string }[] }[] };
  const ca = json.cas.find((c) => c.ca === "ca")!;
  assert.equal(ca.deadline, oldCaNotAfter);
  assert.ok(ca.renewedAt);
  assert.equal(json.cas.find((c) => c.ca === "etcd-ca")!.deadline, undefined, "etcd-ca was not renewed");
  assert.equal(ca.locations.find((l) => l.path.endsWith("kubelet.conf"))!.holds, "current");
  assert.equal(ca.locations.find((l) => l.path.endsWith("root/.kube/config"))!.holds, "old");
});

test("ca renew --dry-run says what it would write and writes nothing", async (t) => {
  const root = await copySandbox(t, ec);
  const before = await snapshot(root);
  const r = cli(["ca", "renew", "all", "--dry-run", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /would re-sign etcd-ca with its own key/);
  assert.match(r.stdout, /would write .*etc\/kubernetes\/kubelet\.conf/);
  assert.match(r.stdout, /--dry-run: nothing was written/);
  assert.deepEqual(await snapshot(root), before);
});

test("ca --help explains the cliff, what same-key re-signing keeps, and that it is not a rotation", () => {
  const r = cli(["ca", "--help"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /valid for\n10 years and never renews them/);
  assert.match(r.stdout, /the same subject\n\(byte for byte\), the same public key and key identifier/);
  assert.match(r.stdout, /"kubeadm join --discovery-token-ca-cert-hash" stays\nvalid/);
  assert.match(r.stdout, /This is renewal for EXPIRY, not rotation: the key stays the same/);
  assert.match(cli(["--help"]).stdout, /^ {2}ca +certificate authorities: status, and re-signing with their own keys/m);
});
