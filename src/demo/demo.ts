// `npm run demo`: the main job on a throwaway control plane whose certificates are 300 days old.
// The kubelet and the control-plane components cannot run here, so their test doubles stand in:
// a kubelet that restarts a component when its manifest changes, an API server that serves the
// certificate named by its manifest and checks client certificates, and /healthz servers.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { createSandbox } from "../sandbox/sandbox.js";
import { runMain } from "../cli/run-main.js";
import { readManifest } from "../manifests/manifest.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { assignFreePorts } from "../simulator/ports.js";
import { startKubeletDouble } from "../simulator/kubelet.js";

const io = {
  stdout: (s: string) => void process.stdout.write(s),
  stderr: (s: string) => void process.stderr.write(s),
  env: process.env,
  isTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  readStdin: () => text(process.stdin),
};
const bold = process.stdout.isTTY === true && !process.env["NO_COLOR"];
const say = (s: string): void => console.log(bold ? `\n\u001b[1m== ${s}\u001b[0m` : `\n== ${s}`);

const root = await mkdtemp(join(tmpdir(), "renew-certs-demo-"));
say(`a sandbox control plane whose certificates were issued 300 days ago, in ${root}`);
await createSandbox(root, { ageDays: 300 });
const ports = await assignFreePorts(root);
say(`starting the test doubles: kubelet, kube-apiserver on 127.0.0.1:${ports.apiserver}, controller-manager and scheduler /healthz`);
const kubelet = await startKubeletDouble({ root });
let code = 1;
try {
  say(`renew-certs status --root ${root}`);
  await runMain(["status", "--root", root], io);
  say(`renew-certs run --root ${root} --certificate-renew-interval 60   (what renew-certs.service runs)`);
  code = await runMain(["run", "--root", root, "--certificate-renew-interval", "60"], io);
  await kubelet.settled();
  say("the restart annotations the kubelet saw");
  for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
    const m = await readManifest(join(root, "etc/kubernetes/manifests", `${c}.yaml`));
    console.log(`${c.padEnd(24)} ${DEFAULT_SETTINGS.annotationKey}: "${m.annotations[DEFAULT_SETTINGS.annotationKey] ?? "(none)"}"   restarts: ${kubelet.restarts(c)}`);
  }
  say(`renew-certs status --root ${root}   (after)`);
  await runMain(["status", "--root", root], io);
  say(`renew-certs run again: not due any more`);
  await runMain(["run", "--root", root, "--certificate-renew-interval", "60"], io);
  say("try next");
  console.log(`renew-certs restore --list --root ${root}     # the backup taken before the renewal
renew-certs run --help                                   # policy, restart, rollback, exit codes
(the CLI is node build/src/cli/main.js until installed; the sandbox stays in ${root})`);
} finally {
  await kubelet.stop();
  if (process.env["RENEW_CERTS_DEMO_CLEANUP"] === "1") await rm(root, { recursive: true, force: true });
}
process.exitCode = code;
