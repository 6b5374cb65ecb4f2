// The cluster view with the real kubectl: the workstation kubeconfig that `status --cluster` reads
// is one kubectl reads too, and what a host's report wrote on its Node is what kubectl shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { readFile, writeFile } from "node:fs/promises";
import { copySandbox } from "../support/sandbox.js";
import { startApiDouble } from "../support/api.js";
import { needTools } from "../support/tools.js";
import { cliAsync } from "../support/cli.js";
import { memoryLogger } from "../../src/log/logger.js";
import { writeNodeReport } from "../../src/report/node-report.js";
import { REPORT_KEYS } from "../../src/report/annotations.js";
import { kubeClient } from "../../src/kube/client.js";
import { credentialsFromKubeconfig } from "../../src/kube/credentials.js";

/** kubectl in a child process that does not block this one (the API server double answers from here). */
function kubectl(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("kubectl", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

test("kubectl reads the kubeconfig status --cluster uses, and shows the annotations a worker's report wrote with the kubelet's credentials", async (t) => {
  if (!needTools(t, "kubectl")) return;
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" } });
  const api = await startApiDouble(t, root, 0);
  api.state.nodes.put({ apiVersion: "v1", kind: "Node", metadata: { name: "cp-1" } });
  const kubelet = kubeClient({ host: "127.0.0.1", port: api.port }, await credentialsFromKubeconfig(join(root, "etc/kubernetes/kubelet.conf"), root));
  assert.equal(await writeNodeReport({ root, nodeName: "cp-1", role: "worker", exitCode: 0, now: new Date(), log: memoryLogger(), client: kubelet }), "written");

  const kubeconfig = join(root, "workstation.conf");
  const admin = await readFile(join(root, "etc/kubernetes/admin.conf"), "utf8");
  await writeFile(kubeconfig, admin.replace(/server: \S+/, `server: https://127.0.0.1:${api.port}`), { mode: 0o600 });
  // --raw: the double serves the API's objects, not the discovery documents kubectl's typed commands fetch first.
  const r = await kubectl(["--kubeconfig", kubeconfig, "get", "--raw", "/api/v1/nodes/cp-1"]);
  assert.equal(r.status, 0, r.stderr);
  const annotations = (JSON.parse(r.stdout) as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
  assert.equal(annotations[REPORT_KEYS.role], "worker");
  assert.equal(annotations[REPORT_KEYS.result], "exit 0 (succeeded)");

  const status = await cliAsync(["status", "--cluster", "--kubeconfig", kubeconfig, "-o", "json"]);
  assert.equal(status.status, 0, status.stdout + status.stderr);
  const nodes = (JSON.parse(status.stdout) as { nodes: { node: string; trustsCurrentCa: boolean }[] }).nodes;
  assert.deepEqual(nodes.map((n) => [n.node, n.trustsCurrentCa]), [["cp-1", true]]);
});
