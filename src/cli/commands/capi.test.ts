import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { cli } from "../../../test/support/cli.js";
import { snapshot } from "../../../test/support/sandbox.js";

const KCP = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: cp
spec:
  rolloutBefore:
    certificatesExpiryDays: 21
  kubeadmConfigSpec:
    format: cloud-config
`;
const SHA = "ab".repeat(32);

test("capi patch reads stdin and writes the YAML to stdout, warnings to stderr", () => {
  for (const args of [[], ["-f", "-"]]) {
    const r = cli(["capi", "patch", "--certificate-renew-interval=60", ...args], { input: KCP });
    assert.equal(r.status, 0, r.stderr);
    const spec = (parse(r.stdout) as { spec: { kubeadmConfigSpec: { files: unknown[] } } }).spec.kubeadmConfigSpec;
    assert.equal(spec.files.length, 3);
    assert.match(r.stderr, /^warn: document 1 \(KubeadmControlPlane cp\) also sets spec\.rolloutBefore\.certificatesExpiryDays: 21/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});

test("capi patch -f FILE reads the file and leaves it as it was", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-capi-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "cluster.yaml"), KCP);
  const before = await snapshot(dir);
  const r = cli(["capi", "patch", "--certificate-renew-interval", "30", "-f", join(dir, "cluster.yaml"), "--agent", `url=https://example.com/renew-certs,sha256=${SHA}`, "--schedule", "weekly"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /curl -fsSL --proto =https/);
  assert.match(r.stdout, /OnCalendar=weekly/);
  assert.deepEqual(await snapshot(dir), before);
  const again = cli(["capi", "patch", "--certificate-renew-interval=30", "--agent", `url=https://example.com/renew-certs,sha256=${SHA}`, "--schedule", "weekly"], { input: r.stdout });
  assert.equal(again.stdout, r.stdout, "patching twice changes nothing");
  assert.equal(cli(["capi", "patch", "--certificate-renew-interval=0"], { input: r.stdout }).stdout, KCP);
});

test("capi patch says so when the input holds no control plane", () => {
  const r = cli(["capi", "patch", "--certificate-renew-interval=60"], { input: "kind: ConfigMap\n" });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, "kind: ConfigMap\n");
  assert.match(r.stderr, /no KubeadmControlPlane or KubeadmControlPlaneTemplate in stdin: the manifests are written unchanged/);
});

/** Bad input: exit code, one clear line on stderr, nothing on stdout. */
const bad: { name: string; args: string[]; input?: string; status: number; expect: RegExp }[] = [
  { name: "an interval that is not a whole number of days", args: ["--certificate-renew-interval=1.5"], status: 3, expect: /--certificate-renew-interval must be a whole number of days \(got "1\.5"\)/ },
  { name: "a missing interval", args: [], status: 2, expect: /--certificate-renew-interval=DAYS is required/ },
  { name: "a sha256 that is not 64 hex characters", args: ["--certificate-renew-interval=60", "--agent", "url=https://example.com/r,sha256=abc"], status: 3, expect: /--agent sha256 must be 64 hexadecimal characters/ },
  { name: "an agent URL that is not https", args: ["--certificate-renew-interval=60", "--agent", `url=http://example.com/r,sha256=${SHA}`], status: 3, expect: /--agent url must use https .*runs as root/ },
  { name: "YAML that does not parse", args: ["--certificate-renew-interval=60"], input: "a: 1\n---\nb: [\n", status: 4, expect: /^error: stdin: document 2 is not valid YAML \(line \d, column \d+\)/ },
  { name: "a control plane without spec", args: ["--certificate-renew-interval=60"], input: "apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata:\n  name: cp\n", status: 4, expect: /document 1 \(KubeadmControlPlane cp\) has no spec mapping/ },
  { name: "a file that does not exist", args: ["--certificate-renew-interval=60", "-f", "/nonexistent/cluster.yaml"], status: 4, expect: /manifest file \/nonexistent\/cluster\.yaml does not exist/ },
  { name: "an unknown subcommand", args: ["apply", "--certificate-renew-interval=60"], status: 2, expect: /capi has one subcommand: renew-certs capi patch/ },
];

for (const b of bad) {
  test(`capi patch refuses ${b.name} with one line and exit code ${b.status}`, () => {
    const [first, ...rest] = b.args;
    const args = first === "apply" ? ["capi", "apply", ...rest] : ["capi", "patch", ...b.args];
    const r = cli(args, { input: b.input ?? KCP });
    assert.equal(r.status, b.status, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^error: /);
    assert.match(r.stderr, b.expect);
  });
}

test("capi --help explains the pipeline and the agent modes", () => {
  const r = cli(["capi", "--help"]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /renew-certs capi patch --certificate-renew-interval=60 \| kubectl apply -f -/);
  assert.match(r.stdout, /url=https:\/\/…,sha256=HEX/);
});
