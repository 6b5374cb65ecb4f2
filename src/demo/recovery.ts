// `npm run demo -- --expired`: the recovery of a control plane whose certificates expired 35 days
// ago, on a sandbox run by the test doubles. Its kubelet starts after the expiry (as after a reboot
// of the host): etcd refuses the API server, which exits, and the kubelet, never having reached it,
// does not replace a static pod. Shows doctor's diagnosis, the one command, and status after.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { createSandbox } from "../sandbox/sandbox.js";
import { runMain } from "../cli/run-main.js";
import { assignFreePorts } from "../simulator/ports.js";
import { startKubeletDouble } from "../simulator/kubelet.js";

/** Runs the recovery demo; returns the exit code of `renew-certs run`. */
export async function recoveryDemo(): Promise<number> {
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
  const root = await mkdtemp(join(tmpdir(), "renew-certs-recovery-"));
  say(`a sandbox control plane whose certificates expired 35 days ago (issued 400 days ago), in ${root}`);
  await createSandbox(root, { ageDays: 400 });
  const ports = await assignFreePorts(root);
  say(`the host reboots: the kubelet double starts the static pods; kube-apiserver (127.0.0.1:${ports.apiserver}) cannot reach etcd with its expired certificate and exits`);
  // The demo runs at a tenth of real time: the kubelet's waits and the API server's retries.
  const kubelet = await startKubeletDouble({ root, sim: { timeScale: 0.1 } });
  let code = 1;
  try {
    say(`renew-certs doctor --root ${root}   (only the finding that matters here)`);
    const lines: string[] = [];
    await runMain(["doctor", "--root", root], { ...io, stdout: (s) => void lines.push(s) });
    const out = lines.join("").split("\n");
    const at = out.findIndex((l) => l.includes("control plane down"));
    console.log(at >= 0 ? out.slice(at, at + 2).join("\n") : "(doctor did not recognise it)");
    say(`renew-certs run --root ${root} --fallback-after-seconds 5   (the default waits 60 s before restarting the kubelet)`);
    code = await runMain(["run", "--root", root, "--certificate-renew-interval", "60", "--fallback-after-seconds", "5"], io);
    say("what the kubelet logged (var/log/kubelet.log)");
    for (const l of kubelet.log.filter((x) => /sources aren't ready|Stopping kubelet|Starting kubelet/.test(x))) console.log(l);
    say(`renew-certs status --root ${root}   (after)`);
    await runMain(["status", "--root", root], io);
    say("try next");
    console.log(`renew-certs doctor --root ${root}
(the sandbox stays in ${root})`);
  } finally {
    await kubelet.stop();
    if (process.env["RENEW_CERTS_DEMO_CLEANUP"] === "1") await rm(root, { recursive: true, force: true });
  }
  return code;
}
