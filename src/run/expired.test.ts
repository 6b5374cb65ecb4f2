// The outage renew-certs exists for: a control plane whose leaf certificates expired weeks ago,
// whose kubelet started after the expiry (as after a reboot). etcd refuses the API server, the API
// server exits, and the kubelet, never having reached it since its start, does not replace a static
// pod ("skipping delete because sources aren't ready yet"). `run` must bring it back on the renewed
// certificates without rolling back to the expired ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { apiserverBackedOff, simulatedHost, untilSourcesReady } from "../../test/support/simulated.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { RenewCertsError } from "../errors.js";
import { exitCodeFor } from "../cli/exit-codes.js";
import { runJob } from "./job.js";
import { readManifest } from "../manifests/manifest.js";
import { servedIdentity } from "../kube/tls.js";
import { readRunRecord } from "./state.js";
import { SOURCES_NOT_READY } from "./fallback.js";

const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 60, fallbackAfterSeconds: 1 };
const fast = { intervalMs: 50 } as const;
const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const notAfterOf = async (root: string, file: string): Promise<number> => Date.parse(new X509Certificate(await readFile(join(root, file))).validTo);

test("a control plane whose certificates expired 35 days ago, its kubelet started after the expiry: run restarts the kubelet that logs sources aren't ready, and every component is proven on the renewed certificates, without a rollback", async (t) => {
  // Its crash loop backs off longer than the run lasts: it stays down until the run replaces it.
  const { root, kubelet } = await simulatedHost(t, { ageDays: 400, until: "started", behaviour: apiserverBackedOff });
  // Its crash loop starts a process now and then, which never serves: nothing answers at its port.
  const api = (await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"))).advertiseEndpoint;
  await assert.rejects(servedIdentity(api), "the expired API server is down before the run");
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, ...fast });
  assert.equal(outcome.kind, "renewed");
  assert.deepEqual(outcome.kind === "renewed" && outcome.steps.map((s) => [s.component, Boolean(s.proven)]), COMPONENTS.map((c) => [c, true]));
  assert.ok(kubelet.log.some((l) => l.includes(SOURCES_NOT_READY) && l.includes("kube-apiserver-cp-1")), "the kubelet double was stuck as the real one");
  const fallback = log.lines.find((l) => /^kube-apiserver: not restarted by the kubelet: /.test(l.msg));
  assert.ok(fallback, "the fallback is logged");
  // Its reason names the kubelet's words when the kubelet has logged them by then (how soon it
  // acts on the change is the machine's speed; the diagnosis itself is tested in fallback.test.ts).
  assert.match(fallback.msg, new RegExp(`(the kubelet logs "${SOURCES_NOT_READY}" for kube-system/kube-apiserver-cp-1|no new kube-apiserver process \\d+ s after its manifest changed).*restarting the kubelet`));
  assert.ok(!log.lines.some((l) => /rolling back/.test(l.msg)), "no rollback");
  // The kubelet's own certificate had expired too: re-issued, and the kubelet restarted onto it, so
  // that once the API server is back the kubelet reaches it and replaces the other pods by itself.
  const kubeletPem = join(root, "var/lib/kubelet/pki/kubelet-client-current.pem");
  const kc = new X509Certificate(await readFile(kubeletPem));
  assert.equal(kc.subject, "O=system:nodes\nCN=system:node:cp-1");
  assert.ok(Date.parse(kc.validTo) > Date.now() + 300 * 86_400_000);
  assert.equal((await stat(kubeletPem)).mode & 0o777, 0o600);
  assert.ok(log.lines.some((l) => /^re-issued the kubelet's client certificate \(system:node:cp-1\)/.test(l.msg)));
  await untilSourcesReady(kubelet); // the kubelet reaches the API server with its re-issued certificate
  // (Whether the others needed a fallback too depends on how soon the kubelet reported after the API server came back.)
  assert.equal(log.lines.filter((l) => /not restarted by the kubelet/.test(l.msg))[0]?.msg.split(":")[0], "kube-apiserver");
  assert.ok(await notAfterOf(root, "etc/kubernetes/pki/apiserver.crt") > Date.now() + 300 * 86_400_000, "the renewed certificate is on disk");
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined, "the run is finished");
});

test("expired certificates and a kubelet that never restarts anything: the expired files are not restored, the run exits 15 saying what is down, what was tried and what to run, and the next run resumes", async (t) => {
  // Frozen: no manifest change is acted on; and the API server's crash loop never ends either.
  // 6 s: the wait outlasts both fallbacks (after 1 s and 2 s) even on a machine three times slower.
  const { root, kubelet } = await simulatedHost(t, { ageDays: 400, until: "started", frozen: true, behaviour: (c) => (c === "kube-apiserver" ? "down" : "healthy") });
  const log = memoryLogger();
  const err = await runJob({ root, settings: { ...settings, manifests: ["kube-apiserver", "kube-controller-manager"], healthTimeoutSeconds: 6 }, log, ...fast })
    .then(() => assert.fail("the run succeeded"), (e: unknown) => e as RenewCertsError);
  assert.ok(err instanceof RenewCertsError, String(err));
  assert.equal(err.code, "STILL_DOWN", err.message);
  assert.equal(exitCodeFor(err.code), 15);
  assert.match(err.message, /^kube-apiserver: .* 6 s after its manifest changed\. Not rolled back: the previous certificates expired on \S+, so the renewed certificates stay/);
  assert.match(err.message, /Tried: restarted the kubelet at \S+ \(.*\); .*stop the old container/);
  assert.match(err.message, /journalctl -u kubelet .*systemctl restart kubelet.*renew-certs run/);
  assert.ok(!log.lines.some((l) => /rolling back/.test(l.msg)));
  assert.ok(await notAfterOf(root, "etc/kubernetes/pki/apiserver.crt") > Date.now(), "the renewed certificate stayed");
  const record = await readRunRecord(join(root, "var/lib/renew-certs"));
  assert.equal(record?.stillDown?.component, "kube-apiserver");
  assert.equal(record?.phase, "restarting");
  const metrics = await readFile(join(root, settings.metricsFile), "utf8");
  assert.match(metrics, /^renew_certs_last_run_success 0$/m);
  assert.match(metrics, /^renew_certs_last_renewal_timestamp_seconds \d+/m, "the renewed certificates stay: they count as renewed");
  // The kubelet acts again: the next run resumes the restart and finishes.
  kubelet.setFrozen(false);
  kubelet.setBehaviour(() => "healthy");
  const again = memoryLogger();
  const outcome = await runJob({ root, settings: { ...settings, manifests: ["kube-apiserver", "kube-controller-manager"] }, log: again, ...fast });
  assert.equal(outcome.kind, "renewed");
  assert.equal(outcome.kind === "renewed" && outcome.resumed, true);
  assert.ok(again.lines.some((l) => /the last run stopped while kube-apiserver was still down on the renewed certificates/.test(l.msg)), again.lines.map((l) => l.msg).join("\n"));
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined);
});

test("only the kubelet's client certificate has expired (the control plane's were renewed since): run is due for it, re-issues it, restarts the kubelet, and ends proven", async (t) => {
  const { root, kubelet } = await simulatedHost(t, {
    ageDays: 400, until: "started",
    // The control plane's certificates renewed since (as by an earlier renew all), the kubelet's left expired.
    prepare: async (r) => {
      const { renewCertificates } = await import("../renewal/renew.js");
      await renewCertificates({ root: r, names: ["all"], validityDays: 365, log: memoryLogger() });
    },
  });
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, ...fast });
  assert.equal(outcome.kind, "renewed", log.lines.map((l) => l.msg).join("\n"));
  assert.ok(log.lines.some((l) => /^due: 1 expired \(kubelet client\)/.test(l.msg)), log.lines.map((l) => l.msg).join("\n"));
  assert.ok(log.lines.some((l) => /^re-issued the kubelet's client certificate \(system:node:cp-1\)/.test(l.msg)));
  assert.ok((await notAfterOf(root, "var/lib/kubelet/pki/kubelet-client-current.pem")) > Date.now() + 300 * 86_400_000);
  await untilSourcesReady(kubelet); // the kubelet reaches the API server with its re-issued certificate
  assert.equal(await readRunRecord(join(root, "var/lib/renew-certs")), undefined);
});
