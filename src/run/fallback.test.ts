import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { memoryLogger } from "../log/logger.js";
import { generateKey, privateKeyPem } from "../pki/keys.js";
import { issueCertificate } from "../pki/sign.js";
import { leafExtensions } from "../pki/profile.js";
import { sandboxRuntime } from "../kubelet/sandbox-runtime.js";
import { RuntimeUnavailableError, type RuntimeContainer } from "../kubelet/runtime.js";
import { runJob } from "./job.js";
import { diagnosis, SOURCES_NOT_READY } from "./fallback.js";

const settings: Settings = { ...DEFAULT_SETTINGS, nodeName: "cp-1", healthTimeoutSeconds: 60, fallbackAfterSeconds: 1, manifests: ["kube-apiserver"] };

test("a kubelet that cannot be restarted (no kubelet unit): after as long again the old container is stopped through the runtime, and the new process is proven", async (t) => {
  // The kubelet's client certificate is not the cluster's: it never reaches the API server, so it never replaces a static pod.
  const { root, kubelet } = await simulatedHost(t, {
    ageDays: 300, until: "started",
    prepare: async (r) => {
      const key = await generateKey({ type: "ec", curve: "P-256" });
      const now = Date.now();
      const pem = await issueCertificate({ subject: "O=system:nodes, CN=system:node:cp-1", key, notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 300 * 86_400_000), extensions: leafExtensions({ subject: "", usages: ["clientAuth"] }, "ec") });
      await writeFile(join(r, "var/lib/kubelet/pki/kubelet-client-current.pem"), pem + privateKeyPem(key), { mode: 0o600 });
    },
  });
  const real = sandboxRuntime(root);
  const runtime = { ...real, name: "a host without kubelet.service", restartKubelet: () => Promise.reject(new RuntimeUnavailableError("systemctl restart kubelet failed (exit 5): Failed to restart kubelet.service: Unit kubelet.service not found.")) };
  const log = memoryLogger();
  const outcome = await runJob({ root, settings, log, runtime, intervalMs: 50 });
  assert.equal(outcome.kind, "renewed");
  assert.equal(outcome.kind === "renewed" && outcome.steps[0]?.proven?.by, "loopback certificate");
  const msgs = log.lines.map((l) => l.msg);
  assert.ok(msgs.some((m) => /^kube-apiserver: could not restart the kubelet: systemctl restart kubelet failed \(exit 5\)/.test(m)), msgs.join("\n"));
  const stop = msgs.find((m) => /stopping its old container/.test(m));
  assert.match(stop ?? "", new RegExp(`^kube-apiserver: still not restarted after the kubelet's restart: the kubelet logs "${SOURCES_NOT_READY}" .*its container \\S+ from before the change still runs.*; stopping its old container`));
  assert.ok(kubelet.log.some((l) => l.includes("Container stopped by the runtime")));
  assert.equal(kubelet.restarts("kube-apiserver"), 1);
});

test("the diagnosis says what the host shows: the kubelet's words, the old container, the proof's evidence", () => {
  const c = (id: string, state: "running" | "exited", createdAt: number): RuntimeContainer => ({ id, pod: "kube-apiserver-cp-1", name: "kube-apiserver", state, createdAt });
  const stuck = `E1202 01:00:00.000000 1 kubelet.go:0] "Failed to delete pod" pod="kube-system/kube-apiserver-cp-1" err="${SOURCES_NOT_READY}"`;
  const evidence = { proven: false, by: "", detail: "still the process started 00:59:00 (loopback certificate unchanged)" };
  assert.equal(diagnosis({ component: "kube-apiserver", pod: "kube-apiserver-cp-1", seconds: 60, log: [stuck], containers: [c("0123456789abcdef", "running", 1000)], writtenAt: 2000, evidence }),
    `the kubelet logs "${SOURCES_NOT_READY}" for kube-system/kube-apiserver-cp-1: it has not reached the API server since it started, so it never removes the old pod and the new one waits; its container 0123456789abc from before the change still runs; still the process started 00:59:00 (loopback certificate unchanged)`);
  assert.equal(diagnosis({ component: "kube-apiserver", pod: "kube-apiserver-cp-1", seconds: 60, log: [], containers: [c("a", "exited", 1000)], writtenAt: 2000, evidence: { ...evidence, detail: "nothing serves its loopback certificate at 127.0.0.1:6443" } }),
    "no new kube-apiserver process 60 s after its manifest changed; no kube-apiserver container runs; nothing serves its loopback certificate at 127.0.0.1:6443");
});
