import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, readFile, rm, writeFile, chown } from "node:fs/promises";
import { join } from "node:path";
import { cli, CLI } from "../../../test/support/cli.js";
import { run } from "../../../test/support/tools.js";
import { copySandbox, snapshot } from "../../../test/support/sandbox.js";

const PKI = "etc/kubernetes/pki";
const ec = { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 } as const;

test("status on a sandbox issued 300 days ago shows 65 days residual and 300 days of age", async (t) => {
  const root = await copySandbox(t, ec);
  const r = cli(["status", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  const apiserver = r.stdout.split("\n").find((l) => l.startsWith("apiserver "));
  assert.match(apiserver ?? "", /\s65d\s+300d\s+ca\s+no$/);
  assert.match(r.stdout, /^CERTIFICATE AUTHORITY\s+EXPIRES/m);
  assert.doesNotMatch(r.stdout, /\u001b\[/, "no colour when not a terminal");
});

test("status piped into a reader that has already gone (| true, | head -1) ends quietly, exit 0", async (t) => {
  const root = await copySandbox(t, ec);
  // `true` exits before node has started: status's write meets a closed pipe (EPIPE).
  const r = run("/bin/bash", ["-c", `set -o pipefail; "${process.execPath}" "${CLI}" status --root "${root}" -o json | true; echo "exit=$?"`]);
  assert.equal(r.stdout, "exit=0\n");
  assert.equal(r.stderr, "");
});

test("status -o json carries kubeadm's CertificateExpirationInfo fields with residualTime in seconds", async (t) => {
  const root = await copySandbox(t, ec);
  const r = cli(["status", "--root", root, "-o", "json"]);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { certificates: Record<string, unknown>[]; certificateAuthorities: unknown[] };
  assert.equal(report.certificates.length, 11);
  const c = report.certificates.find((x) => x["name"] === "etcd-server")!;
  assert.deepEqual(Object.keys(c).slice(0, 6), ["name", "expirationDate", "residualTime", "externallyManaged", "caName", "missing"]);
  assert.equal(c["caName"], "etcd-ca");
  assert.ok(Math.abs((c["residualTime"] as number) - 65 * 86400) < 120);
  assert.ok(Math.abs((c["age"] as number) - 300 * 86400) < 120);
  assert.ok((c["files"] as string[]).some((f) => f.endsWith("pki/etcd/server.key")));
  assert.equal(report.certificateAuthorities.length, 3);
  const y = cli(["status", "--root", root, "-o", "yaml"]);
  assert.match(y.stdout, /^kind: CertificateExpirationInfo$/m);
});

test("status with --external-ca marks the CA's rows externally managed", async (t) => {
  const root = await copySandbox(t, { ...ec, externalCa: true });
  const report = JSON.parse(cli(["status", "--root", root, "-o", "json"]).stdout) as { certificates: { name: string; externallyManaged: boolean; caName: string }[] };
  for (const c of report.certificates) assert.equal(c.externallyManaged, c.caName === "ca", c.name);
});

test("status with --external-etcd has no etcd rows", async (t) => {
  const root = await copySandbox(t, { ...ec, externalEtcd: true });
  const r = cli(["status", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /etcd/);
});

test("status shows a deleted super-admin.conf as missing and exits 0", async (t) => {
  const root = await copySandbox(t, ec);
  await rm(join(root, "etc/kubernetes/super-admin.conf"));
  const r = cli(["status", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^!MISSING! super-admin.conf/m);
});

test("status colours the lifetime bars only on a terminal and never with NO_COLOR", async () => {
  const { renderStatusTable } = await import("../format.js");
  const report = { kind: "CertificateExpirationInfo", apiVersion: "renew-certs/v1", root: "/", warnings: [], kubelet: undefined, certificateAuthorities: [],
    certificates: [{ name: "apiserver", expirationDate: "2027-01-01T00:00:00Z", residualTime: 100, externallyManaged: false, caName: "ca", missing: false, age: 1, lifetimeLeft: 0.05, files: [], renewable: true }] } as const;
  assert.match(renderStatusTable(report as never, { color: true, bars: true }), /\u001b\[31m█░{9}/);
  assert.doesNotMatch(renderStatusTable(report as never, { color: false, bars: true }), /\u001b/);
  assert.doesNotMatch(renderStatusTable(report as never, { color: false, bars: false }), /░/);
});

/** Bad inputs: one line naming the file and what to do, no stack trace, every file unchanged. */
const badInputs: { name: string; file?: string; damage: (root: string) => Promise<void>; expect: RegExp }[] = [
  { name: "a certificate file that is not PEM", file: `${PKI}/apiserver.crt`, damage: (r) => writeFile(join(r, PKI, "apiserver.crt"), "hello\n"), expect: /apiserver\.crt is not a PEM certificate: restore/ },
  { name: "a key where a certificate belongs", file: `${PKI}/apiserver.crt`, damage: async (r) => writeFile(join(r, PKI, "apiserver.crt"), await readFile(join(r, PKI, "apiserver.key"))), expect: /apiserver\.crt holds a private key where a certificate belongs/ },
  { name: "a truncated certificate", file: `${PKI}/front-proxy-client.crt`, damage: async (r) => { const f = join(r, PKI, "front-proxy-client.crt"); await writeFile(f, (await readFile(f, "utf8")).slice(0, 300)); }, expect: /front-proxy-client\.crt holds a truncated certificate/ },
  { name: "a corrupt certificate body", file: `${PKI}/front-proxy-client.crt`, damage: async (r) => { const f = join(r, PKI, "front-proxy-client.crt"); const s = await readFile(f, "utf8"); await writeFile(f, s.replace(/\n[A-Za-z0-9+/]{20}/, "\nAAAAAAAAAAAAAAAAAAAA")); }, expect: /front-proxy-client\.crt holds a certificate that cannot be parsed/ },
  { name: "a kubeconfig that is not YAML", file: "etc/kubernetes/admin.conf", damage: (r) => writeFile(join(r, "etc/kubernetes/admin.conf"), "users: [\n  - name: x\n  user: {\n"), expect: /kubeconfig .*admin\.conf is not valid YAML \(line \d+\): restore/ },
  { name: "a kubeconfig whose current context names no user", file: "etc/kubernetes/scheduler.conf", damage: async (r) => { const f = join(r, "etc/kubernetes/scheduler.conf"); await writeFile(f, (await readFile(f, "utf8")).replace(/ {4}user: system:kube-scheduler\n/, "")); }, expect: /scheduler\.conf: context system:kube-scheduler@kubernetes names no user/ },
  { name: "a directory where a file belongs", damage: async (r) => { await rm(join(r, PKI, "apiserver.crt")); await mkdir(join(r, PKI, "apiserver.crt")); }, expect: /apiserver\.crt is a directory, but a file belongs there/ },
];

for (const bad of badInputs) {
  test(`status refuses ${bad.name} with one clear line and changes nothing`, async (t) => {
    const root = await copySandbox(t, ec);
    await bad.damage(root);
    const before = await snapshot(root);
    const r = cli(["status", "--root", root]);
    assert.equal(r.status, 4, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, bad.expect);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace without --verbose");
    assert.deepEqual(await snapshot(root), before);
  });
}

test("status refuses a root that does not exist", () => {
  const r = cli(["status", "--root", "/nonexistent/renew-certs-root"]);
  assert.equal(r.status, 4);
  assert.equal(r.stderr, "error: root /nonexistent/renew-certs-root does not exist: pass the directory that holds etc/kubernetes with --root\n");
});

test("status refuses a directory that holds no control plane", async (t) => {
  const root = await copySandbox(t, ec);
  await rm(join(root, "etc"), { recursive: true });
  const r = cli(["status", "--root", root]);
  assert.equal(r.status, 4);
  assert.match(r.stderr, /no kubeadm control plane under .*pki\/ca\.crt not found; pass the right directory with --root/);
});

test("status refuses a file that cannot be read, naming it", async (t) => {
  const root = await copySandbox(t, ec);
  const file = join(root, PKI, "apiserver.crt");
  await chmod(file, 0o000);
  // root reads any file: run the check as an unprivileged user when we are root.
  const asNobody = process.getuid?.() === 0;
  if (asNobody) {
    const { spawnSync: sh } = await import("node:child_process");
    sh("chmod", ["-R", "a+rX", root]);
    await chmod(file, 0o000);
    await chown(file, 0, 0);
  }
  const { spawnSync } = await import("node:child_process");
  const { CLI } = await import("../../../test/support/cli.js");
  const r = spawnSync(process.execPath, [CLI, "status", "--root", root], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, ...(asNobody ? { uid: 65534, gid: 65534 } : {}) });
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /apiserver\.crt cannot be accessed \(permission denied\): run renew-certs as root/);
});

test("--verbose adds the stack trace to an error", async (t) => {
  const root = await copySandbox(t, ec);
  await writeFile(join(root, PKI, "apiserver.crt"), "junk");
  const r = cli(["status", "--root", root, "--verbose"]);
  assert.equal(r.status, 4);
  assert.match(r.stderr, /\n\s+at /);
});

test("status rejects an unknown output format", () => {
  const r = cli(["status", "-o", "xml"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--output must be table, json or yaml/);
});

test("status says what run would decide now, with the host's config file when there is one", async (t) => {
  const root = await copySandbox(t, ec);
  let r = cli(["status", "--root", root]);
  assert.match(r.stdout, /\nrenew-certs run would renew 11 certificates now \(11 at least 60 days old; oldest: admin\.conf, 300 days\)\n$/);
  await mkdir(join(root, "etc/renew-certs"), { recursive: true });
  await writeFile(join(root, "etc/renew-certs/config.yaml"), "certificateRenewInterval: 0\n");
  r = cli(["status", "--root", root, "-o", "json"]);
  const run = (JSON.parse(r.stdout) as { run: { disabled: boolean; config: string } }).run;
  assert.equal(run.disabled, true);
  assert.ok(run.config.endsWith("etc/renew-certs/config.yaml"));
});

test("status warns when kubelet.conf embeds a client certificate that expires within 30 days", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 340 });
  const pem = await readFile(join(root, "var/lib/kubelet/pki/kubelet-client-current.pem"), "utf8");
  const cert = pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + 26);
  const key = pem.slice(cert.length);
  const file = join(root, "etc/kubernetes/kubelet.conf");
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  await writeFile(file, (await readFile(file, "utf8"))
    .replace(/client-certificate: .*/, `client-certificate-data: ${b64(cert)}`)
    .replace(/client-key: .*/, `client-key-data: ${b64(key.trim() + "\n")}`));
  const r = cli(["status", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^kubelet\.conf: embedded client certificate, expires .* \(25d\); renewable now: renew-certs run re-issues it \(into kubelet\.conf\) and restarts the kubelet$/m);
  assert.match(r.stdout, /^WARNING: kubelet\.conf embeds a client certificate that expires .*: the kubelet does not rotate an embedded certificate/m);
});

test("status shows an interrupted run and what the next run will do, instead of what a run would decide", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 3 });
  const { writeRecord } = await import("../../renewal/intent.js");
  await writeRecord(join(root, "var/lib/renew-certs"), { job: "run", phase: "renewed", started: "2026-12-01T09:12:03.000Z", backup: join(root, "var/lib/renew-certs/backups/x"), renewed: ["apiserver"], apiserver: { renewed: "AA", previous: "BB" }, restart: [], steps: [] } as never);
  const table = cli(["status", "--root", root]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /\ninterrupted run: the last run stopped while certificates renewed at 2026-12-01T09:12:03\.000Z, no component restarted yet; the next run will restart the control plane onto them and prove it\n$/);
  const json = JSON.parse(cli(["status", "--root", root, "-o", "json"]).stdout) as { interrupted?: { state: string; next: string } };
  assert.equal(json.interrupted?.next, "restart the control plane onto them and prove it");
});

test("status shows a renewal killed half-way (SIGKILL after its fifth durable step) and what the next run does with it", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 });
  const killed = cli(["renew", "all", "--root", root], { env: { RENEW_CERTS_TEST_KILL_AFTER_STEP: "5" } });
  assert.equal(killed.status, -1, `killed by SIGKILL: ${killed.stderr}`);
  const table = cli(["status", "--root", root]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /\ninterrupted run: the last run stopped while renewing certificates \(since \S+; backup \S+\); the next run will keep the renewal if every file already holds its new bytes, else put every file back from the backup\n$/);
  const finished = cli(["renew", "all", "--root", root]);
  assert.equal(finished.status, 0, finished.stderr);
  assert.doesNotMatch(cli(["status", "--root", root]).stdout, /interrupted run/);
});

test("status says a run is in progress, not that it stopped, while the run that wrote the record still holds the lock", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 3 });
  const { writeRecord } = await import("../../renewal/intent.js");
  const { processIdentity } = await import("../../util/proc.js");
  const stateDir = join(root, "var/lib/renew-certs");
  await writeRecord(stateDir, { job: "run", phase: "renewed", started: "2026-12-01T09:12:03.000Z", backup: join(stateDir, "backups/x"), renewed: ["apiserver"], apiserver: { renewed: "AA", previous: "BB" }, restart: [], steps: [] } as never);
  // This test's own process plays the run: alive, holding the lock.
  const me = processIdentity();
  await mkdir(join(stateDir, "lock"), { recursive: true });
  await writeFile(join(stateDir, "lock", `${me.pid}-${me.startTicks}-1`), JSON.stringify({ ...me, number: 1 }));
  const table = cli(["status", "--root", root]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`\\na run is in progress \\(pid ${me.pid}\\): certificates renewed at 2026-12-01T09:12:03\\.000Z, no component restarted yet\\n$`));
  await rm(join(stateDir, "lock"), { recursive: true });
  assert.match(cli(["status", "--root", root]).stdout, /\ninterrupted run: the last run stopped while certificates renewed/);
});

test("global flags work before the command too: renew-certs --verbose --log-format json status", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 3 });
  const after = cli(["status", "--root", root, "--verbose"]);
  const before = cli(["--verbose", "--log-format", "json", "status", "--root", root]);
  assert.equal(before.status, 0, before.stderr);
  assert.equal(before.stdout, after.stdout);
});

test("status says whether each component runs the certificates on disk and how that is known, and when the loopback certificate forces kube-apiserver's next restart", async (t) => {
  const { simulatedHost } = await import("../../../test/support/simulated.js");
  const h = await simulatedHost(t, { ageDays: 10 });
  const r = cli(["status", "--root", h.root, "-o", "json"]);
  assert.equal(r.status, 0, r.stderr);
  const components = (JSON.parse(r.stdout) as { components: { component: string; runsFilesOnDisk: string; detail: string }[] }).components;
  assert.deepEqual(components.map((c) => [c.component, c.runsFilesOnDisk]), [["kube-apiserver", "yes"], ["kube-controller-manager", "yes"], ["kube-scheduler", "yes"]]);
  assert.match(components[0]!.detail, /^serves .*apiserver\.crt on a new connection \(proven by the fingerprint it serves.*; its loopback certificate, made at its start .*, expires on \d{4}-\d\d-\d\d: every renewal restarts it \(restart mode all\)$/);
  assert.match(components[1]!.detail, /^its process started .*, after etc\/kubernetes\/controller-manager\.conf was written \(its serving certificate names its start\)$/);
  const table = cli(["status", "--root", h.root]).stdout;
  assert.match(table, /^COMPONENT\s+ON DISK\s+HOW IT IS KNOWN$/m);
  assert.match(table, /^kube-scheduler\s+yes\s+its process started/m);
});

test("status says run is due when only the kubelet's client certificate has expired, as run decides", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 400 });
  assert.equal(cli(["renew", "all", "--root", root]).status, 0);
  const r = cli(["status", "--root", root]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\nrenew-certs run would renew 11 certificates now, for the kubelet's client certificate \S+kubelet-client-current\.pem expired on \S+ \(the kubelet cannot rotate it without the API server\), and re-issue it\n$/);
  assert.equal((JSON.parse(cli(["status", "--root", root, "-o", "json"]).stdout) as { run: { due: boolean } }).run.due, true);
});
