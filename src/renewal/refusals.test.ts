// Hostile, sloppy and impossible PKIs: each is refused before anything is written, with one error
// line naming the file, what is wrong and what to do, its own exit code, and every file as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cli } from "../../test/support/cli.js";
import { copySandbox, snapshot } from "../../test/support/sandbox.js";
import { clientExtensions, plantLeaf, resignCa } from "../../test/support/pki.js";
import { subjectKeyIdExtension, x509 } from "../pki/sign.js";
import { renewCertificates } from "./renew.js";
import { memoryLogger } from "../log/logger.js";
import { RenewCertsError } from "../errors.js";
import { EXIT, exitCodeFor } from "../cli/exit-codes.js";

const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;
const DAY = 86_400_000;
const ROTATION = /https:\/\/kubernetes\.io\/docs\/tasks\/tls\/manual-rotation-of-ca-certificates\//;

/** NameConstraints permitting only dNSName example.com (RFC 5280 4.2.1.10), as DER. */
const NAME_CONSTRAINTS = new Uint8Array([0x30, 0x11, 0xa0, 0x0f, 0x30, 0x0d, 0x82, 0x0b, ...Buffer.from("example.com")]);

const cases: { name: string; damage: (root: string) => Promise<unknown>; code: number; expect: RegExp }[] = [
  {
    name: "a CA certificate (CA:TRUE, keyCertSign) at pki/front-proxy-client.crt, signed by the front-proxy CA",
    damage: (r) => plantLeaf(r, {
      name: "front-proxy-client",
      extensions: async (key) => [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true), new x509.BasicConstraintsExtension(true, undefined, true), await subjectKeyIdExtension(key)],
    }),
    code: 11, expect: /^error: \S+\/pki\/front-proxy-client\.crt \(front-proxy-client\) is a CA certificate \(basic constraints CA:TRUE, key usage keyCertSign\) where kubeadm keeps a leaf: .* could sign certificates that front-proxy-ca's clients trust; replace it with a leaf \(kubeadm certs renew front-proxy-client\) or restore it from a backup; nothing was changed$/,
  },
  {
    name: "a kubeconfig client certificate that may sign CRLs (admin.conf, key usage cRLSign, no basic constraints)",
    damage: (r) => plantLeaf(r, { name: "admin.conf", subject: "O=kubeadm:cluster-admins, CN=kubernetes-admin", extensions: async (key) => [new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true), await subjectKeyIdExtension(key)] }),
    code: 11, expect: /^error: \S+\/etc\/kubernetes\/admin\.conf \(admin\.conf\) is a CA certificate \(key usage cRLSign\)/,
  },
  {
    name: "a leaf with a critical extension renew-certs does not know",
    damage: (r) => plantLeaf(r, { name: "apiserver-kubelet-client", extensions: (key) => clientExtensions(key, [new x509.Extension("1.3.6.1.4.1.55555.1", true, new Uint8Array([0x05, 0x00]))]) }),
    code: 12, expect: /^error: \S+\/pki\/apiserver-kubelet-client\.crt \(apiserver-kubelet-client\) carries a critical extension renew-certs does not carry over, 1\.3\.6\.1\.4\.1\.55555\.1: .*; re-issue it with the tool that made it, or as kubeadm would \(kubeadm certs renew apiserver-kubelet-client\); nothing was changed$/,
  },
  {
    name: "a leaf with critical name constraints",
    damage: (r) => plantLeaf(r, { name: "etcd-healthcheck-client", extensions: (key) => clientExtensions(key, [new x509.Extension("2.5.29.30", true, NAME_CONSTRAINTS)]) }),
    code: 12, expect: /healthcheck-client\.crt \(etcd-healthcheck-client\) carries a critical extension renew-certs does not carry over, name constraints \(2\.5\.29\.30\)/,
  },
  {
    name: "an expired ca.crt",
    damage: (r) => resignCa(r, "ca", { notAfter: new Date(Date.now() - 2 * DAY) }),
    code: 13, expect: new RegExp(`^error: CA \\S+/pki/ca\\.crt \\(ca\\) expired on \\S+Z: the certificates it signs cannot be renewed until it is re-signed with its own key: renew-certs ca renew ca \\(see renew-certs ca --help; for a compromised key, rotate it as in ${ROTATION.source}\\); nothing was changed$`),
  },
  {
    name: "a front-proxy CA that is not valid yet",
    damage: (r) => resignCa(r, "front-proxy-ca", { notBefore: new Date(Date.now() + 2 * DAY) }),
    code: 13, expect: /^error: CA \S+\/pki\/front-proxy-ca\.crt \(front-proxy-ca\) is not valid before \S+Z, and this host's clock says \S+Z: fix the clock/,
  },
];

for (const c of cases) {
  test(`renew all refuses ${c.name}: exit ${c.code}, one line, every file byte-identical`, async (t) => {
    const root = await copySandbox(t, ec);
    await c.damage(root);
    const before = await snapshot(root);
    for (const args of [["renew", "all"], ["renew", "all", "--dry-run"]]) {
      const r = cli([...args, "--root", root]);
      assert.equal(r.status, c.code, r.stderr);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0]!, c.expect);
      assert.equal(r.stdout, "", "nothing claimed");
    }
    // status predicts the same refusal of run, with its exit code, before anything is tried; except
    // for an expired CA whose key is here, which run re-signs first (run/ca.test.ts).
    const status = cli(["status", "--root", root, "-o", "json"]);
    assert.equal(status.status, 0, status.stderr);
    const run = (JSON.parse(status.stdout) as { run: { summary: string; refusal?: { code: string; exitCode: number } } }).run;
    if (c.name === "an expired ca.crt") {
      assert.equal(run.refusal, undefined, run.summary);
      assert.match(run.summary, /^re-sign CA ca with its own key \(within caRenewBeforeDays of its expiry, or expired\), then renew /);
    } else {
      assert.equal(run.refusal?.exitCode, c.code, run.summary);
      assert.match(run.summary, new RegExp(`^refuse to renew \\(exit ${c.code}\\): `));
    }
    assert.deepEqual(await snapshot(root), before);
  });
}

test("run refuses a leaf that is a CA before the first write (exit 11), and status predicts it: its line and its JSON", async (t) => {
  const root = await copySandbox(t, ec);
  await cases[0]!.damage(root);
  const status = cli(["status", "--root", root]);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /\nrenew-certs run would refuse to renew \(exit 11\): front-proxy-client \(\/etc\/kubernetes\/pki\/front-proxy-client\.crt\) is a CA certificate \(basic constraints CA:TRUE, key usage keyCertSign\) where kubeadm keeps a leaf: replace it with a leaf \(kubeadm certs renew front-proxy-client\) or restore it from a backup\n$/);
  const json = JSON.parse(cli(["status", "--root", root, "-o", "json"]).stdout) as { run: { due: boolean; refusal: unknown } };
  assert.equal(json.run.due, true);
  assert.deepEqual(json.run.refusal, { code: "LEAF_IS_CA", exitCode: 11, certificate: "front-proxy-client", file: "/etc/kubernetes/pki/front-proxy-client.crt" });
  const before = [...(await snapshot(root))].filter(([p]) => p.startsWith("etc/"));
  const r = cli(["run", "--root", root]);
  assert.equal(r.status, 11, r.stderr);
  assert.match(r.stderr, /^error: \S+\/pki\/front-proxy-client\.crt \(front-proxy-client\) is a CA certificate /m);
  assert.deepEqual([...(await snapshot(root))].filter(([p]) => p.startsWith("etc/")), before);
});

test("run refuses a CA that is not valid yet before the first write: exit 13 and the control plane untouched (an expired one it re-signs: run/ca.test.ts)", async (t) => {
  const root = await copySandbox(t, ec);
  await resignCa(root, "etcd-ca", { notBefore: new Date(Date.now() + 2 * DAY) });
  const before = [...(await snapshot(root))].filter(([p]) => p.startsWith("etc/"));
  const r = cli(["run", "--root", root]);
  assert.equal(r.status, 13, r.stderr);
  assert.match(r.stderr, /^error: CA \S+\/pki\/etcd\/ca\.crt \(etcd-ca\) is not valid before /m);
  assert.deepEqual([...(await snapshot(root))].filter(([p]) => p.startsWith("etc/")), before);
  // status predicts the refusal, not a renewal.
  assert.match(cli(["status", "--root", root]).stdout, /\nrenew-certs run would refuse to renew \(exit 13\): CA etcd-ca is not valid before \S+: the certificates it signs cannot be renewed\n$/);
});

test("a CA with less than the safety margin left still renews, capped at its expiry, and the log and status say loudly what to do", async (t) => {
  const root = await copySandbox(t, ec);
  await resignCa(root, "ca", { notAfter: new Date(Date.now() + 20 * DAY) });
  const r = cli(["renew", "apiserver", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^warn: CERTIFICATE apiserver CAPPED AT ITS CA'S EXPIRY: CA ca has only 19 days left; re-sign it with its own key before then \\(renew-certs ca renew ca\\), then renew this certificate again`, "m"));
  const status = cli(["status", "--root", root]);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^WARNING: CA ca EXPIRES in 19 days, within the safety margin of 30 days: .*re-sign the CA now: renew-certs ca renew ca$`, "m"));
});

test("a certificate that would be written with NotBefore not before NotAfter is refused before the write, every file unchanged", async (t) => {
  const root = await copySandbox(t, ec);
  const before = await snapshot(root);
  // The command line allows 1 to 3650 days; the library checks the window itself, for any caller.
  await assert.rejects(renewCertificates({ root, names: ["apiserver"], validityDays: -1, log: memoryLogger() }), (e: RenewCertsError) => {
    assert.equal(e.code, "BAD_VALIDITY");
    assert.match(e.message, /^the new certificate for apiserver would be valid from \S+Z until \S+Z, which is no time at all; nothing was written/);
    return true;
  });
  assert.deepEqual(await snapshot(root), before);
});

test("each refusal has its own exit code", () => {
  assert.deepEqual(["LEAF_IS_CA", "UNKNOWN_CRITICAL", "CA_NOT_VALID", "BAD_VALIDITY"].map((c) => exitCodeFor(c as RenewCertsError["code"])), [EXIT.LEAF_IS_CA, EXIT.UNKNOWN_CRITICAL, EXIT.CA_NOT_VALID, EXIT.BAD_VALIDITY]);
  assert.deepEqual([EXIT.LEAF_IS_CA, EXIT.UNKNOWN_CRITICAL, EXIT.CA_NOT_VALID, EXIT.BAD_VALIDITY], [11, 12, 13, 14]);
});
