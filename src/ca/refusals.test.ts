import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cli } from "../../test/support/cli.js";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { needTools, run } from "../../test/support/tools.js";

const PKI = "etc/kubernetes/pki";
const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;

/** The control plane's files, without renew-certs' own state. */
function controlPlane(s: Awaited<ReturnType<typeof snapshot>>): Map<string, string> {
  return new Map([...s].filter(([p]) => !p.startsWith("var/lib/renew-certs")).map(([p, f]) => [p, `${f.mode.toString(8)}:${f.bytes}`]));
}

/** Runs openssl and fails the test on an error. */
function openssl(args: string[]): void {
  const r = run("openssl", args);
  assert.equal(r.status, 0, r.stderr);
}

/** Replaces pki/ca.crt with a certificate of the same key issued by another CA: an intermediate. */
async function makeIntermediate(root: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-parent-"));
  try {
    await writeFile(join(dir, "ext"), "[e]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign\n");
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "root.key"), "-out", join(dir, "root.crt"), "-subj", "/CN=corporate-root", "-days", "30"]);
    openssl(["req", "-new", "-key", join(root, PKI, "ca.key"), "-subj", "/CN=kubernetes", "-out", join(dir, "ca.csr")]);
    openssl(["x509", "-req", "-in", join(dir, "ca.csr"), "-CA", join(dir, "root.crt"), "-CAkey", join(dir, "root.key"), "-days", "30", "-extfile", join(dir, "ext"), "-extensions", "e", "-out", join(root, PKI, "ca.crt")]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Bad inputs: one clear error naming the file, exit 4, every control-plane file unchanged. */
const refusals: { name: string; opts?: object; args: string[]; damage?: (root: string) => Promise<void>; tools?: string[]; expect: RegExp }[] = [
  {
    name: "a CA whose key is not on this host (an external CA)",
    opts: { ...ec, externalCa: true }, args: ["all"],
    expect: /CA .*pki\/ca\.crt \(ca\) has no key on this host \(.*pki\/ca\.key not found\): it is an external CA; whoever keeps its key must re-sign it/,
  },
  {
    name: "a CA key that does not match its certificate",
    args: ["ca"], damage: async (r) => writeFile(join(r, PKI, "ca.key"), await readFile(join(r, PKI, "front-proxy-ca.key"))),
    expect: /CA key .*pki\/ca\.key does not match its certificate .*pki\/ca\.crt/,
  },
  {
    name: "an intermediate CA (issuer is not its subject)",
    args: ["all"], damage: makeIntermediate, tools: ["openssl"],
    expect: /CA .*pki\/ca\.crt \(ca\) is an intermediate CA \(issued by CN=corporate-root, not by itself\): re-signing it needs its parent CA's key/,
  },
];

for (const c of refusals) {
  test(`ca renew refuses ${c.name}: one error, exit 4, every file byte-identical`, async (t) => {
    if (c.tools && !needTools(t, ...c.tools)) return;
    const root = await copySandbox(t, c.opts ?? ec);
    await c.damage?.(root);
    const before = controlPlane(await snapshot(root));
    const r = cli(["ca", "renew", ...c.args, "--root", root]);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, c.expect);
    assert.equal(r.stderr.trim().split("\n").filter((l) => l.startsWith("error:")).length, 1, r.stderr);
    assert.match(r.stderr, /nothing was changed/);
    assert.deepEqual(controlPlane(await snapshot(root)), before);
  });
}

test("ca renew warns about a leaf that names its CA by issuer and serial, and renew then fixes it", async (t) => {
  if (!needTools(t, "openssl")) return;
  const root = await copySandbox(t, ec);
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-akid-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "ext"), "[e]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = clientAuth\nauthorityKeyIdentifier = keyid:always,issuer:always\n");
  openssl(["req", "-new", "-key", join(root, PKI, "front-proxy-client.key"), "-subj", "/CN=front-proxy-client", "-out", join(dir, "c.csr")]);
  openssl(["x509", "-req", "-in", join(dir, "c.csr"), "-CA", join(root, PKI, "front-proxy-ca.crt"), "-CAkey", join(root, PKI, "front-proxy-ca.key"), "-days", "30", "-extfile", join(dir, "ext"), "-extensions", "e", "-out", join(root, PKI, "front-proxy-client.crt")]);
  const r = cli(["ca", "renew", "front-proxy-ca", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^warn: front-proxy-client names CA front-proxy-ca by issuer and serial \(authority key identifier\): OpenSSL will not chain it to the re-signed certificate; renew it as well \(renew-certs renew front-proxy-client\)/m);
  assert.match(r.stdout, /RENEW front-proxy-client as well/);
  const crt = join(root, PKI, "front-proxy-client.crt");
  assert.notEqual(run("openssl", ["verify", "-CAfile", join(root, PKI, "front-proxy-ca.crt"), crt]).status, 0);
  assert.equal(cli(["renew", "front-proxy-client", "--root", root]).status, 0);
  const v = run("openssl", ["verify", "-CAfile", join(root, PKI, "front-proxy-ca.crt"), crt]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test("ca renew refuses an unknown CA name and a missing one, naming the valid ones", () => {
  const r = cli(["ca", "renew", "kubernetes-ca", "--root", "/nonexistent"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown CA kubernetes-ca: choose all or any of ca, etcd-ca, front-proxy-ca/);
  const none = cli(["ca", "renew"]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /say which CA to renew: all, or any of ca, etcd-ca, front-proxy-ca/);
});
