// `npm run demo`: the main job on a throwaway control plane whose certificates are 300 days old.
// The kubelet and the control-plane components cannot run here, so the simulator's test doubles
// (src/simulator) stand in, as unkind as the real ones: a kubelet that restarts a static pod when
// its manifest changes (SIGTERM, the grace period, then the new process), a kube-apiserver that
// re-reads its serving certificate from disk and makes a new loopback certificate at each start,
// and a controller-manager and scheduler that make a new serving certificate at each start and
// keep their kubeconfig's client certificate in memory. The run's log is shown as the journal
// would show it, with its one line per renewed certificate folded into one; a summary ends it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { createSandbox } from "../sandbox/sandbox.js";
import { runMain, type RunMainIO } from "../cli/run-main.js";
import { readManifest } from "../manifests/manifest.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { assignFreePorts } from "../simulator/ports.js";
import { startKubeletDouble } from "../simulator/kubelet.js";
import { scanInventory } from "../inventory/scan.js";

const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const bold = process.stdout.isTTY === true && !process.env["NO_COLOR"];
const say = (s: string): void => console.log(bold ? `\n\u001b[1m== ${s}\u001b[0m` : `\n== ${s}`);

/** What a command printed, line by line, shown as it comes (except what `fold` keeps back). */
function capture(fold?: (line: string) => boolean): { io: RunMainIO; lines: string[]; folded: string[] } {
  const lines: string[] = [];
  const folded: string[] = [];
  const partial = { out: "", err: "" };
  const sink = (which: "out" | "err", write: (s: string) => void) => (s: string): void => {
    const parts = (partial[which] + s).split("\n");
    partial[which] = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      if (fold?.(line)) {
        folded.push(line);
        if (folded.length === 1) write(`${line}\n`);
        else if (folded.length === 2) write("… one such line per renewed certificate (folded here; the summary lists them)\n");
      } else {
        write(`${line}\n`);
      }
    }
  };
  return {
    lines, folded,
    io: {
      stdout: sink("out", (s) => void process.stdout.write(s)),
      stderr: sink("err", (s) => void process.stderr.write(s)),
      env: process.env,
      isTTY: process.stdout.isTTY === true,
      stderrIsTTY: process.stderr.isTTY === true,
      readStdin: () => text(process.stdin),
    },
  };
}

// `npm run demo -- --expired`: the recovery of an expired control plane (recovery.ts).
if (process.argv.includes("--expired")) {
  process.exitCode = await (await import("./recovery.js")).recoveryDemo();
  process.exit();
}
const root = await mkdtemp(join(tmpdir(), "renew-certs-demo-"));
say(`a sandbox control plane whose certificates were issued 300 days ago, in ${root}`);
await createSandbox(root, { ageDays: 300 });
const ports = await assignFreePorts(root);
console.log(`the simulator's test doubles run it: a kubelet, kube-apiserver on 127.0.0.1:${ports.apiserver}, kube-controller-manager and kube-scheduler`);
const kubelet = await startKubeletDouble({ root });
let code = 1;
try {
  for (const deadline = Date.now() + 60_000; !kubelet.sourcesReady() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
  const before = await scanInventory(root);
  say(`renew-certs status --root ${root}`);
  await runMain(["status", "--root", root], capture().io);

  say(`renew-certs run --root ${root} --certificate-renew-interval 60   (what renew-certs.service runs)`);
  const run = capture((l) => /^info: renewed \S+ notAfter=/.test(l));
  const started = Date.now();
  code = await runMain(["run", "--root", root, "--certificate-renew-interval", "60"], run.io);
  const took = (Date.now() - started) / 1000;
  await kubelet.settled();

  say("renew-certs run again: not due any more");
  const again = capture();
  await runMain(["run", "--root", root, "--certificate-renew-interval", "60"], again.io);

  const after = await scanInventory(root);
  const proofs = /proven new: (.*?)(?: backup=|$)/.exec(run.lines.find((l) => l.includes("renewed and healthy")) ?? "")?.[1] ?? "";
  const expiry = (inv: typeof before): string => {
    const dates = inv.leaves.flatMap((l) => (l.cert ? [l.cert.notAfter.getTime()] : []));
    return dates.length ? new Date(Math.min(...dates)).toISOString().slice(0, 10) : "?";
  };
  const warnings = [...run.lines, ...again.lines].filter((l) => /^(warn|error):/.test(l));
  say("summary");
  console.log([
    `renewed:    ${run.folded.length} certificates and kubeconfigs in one step (the journal has one line each: ${run.folded.map((l) => l.split(" ")[2]).join(", ")})`,
    `expiry:     the earliest went from ${expiry(before)} to ${expiry(after)}`,
    `restarted:  one at a time, each through its manifest's annotation and proven a NEW process before its health counted:`,
    ...COMPONENTS.map((c) => `              ${c.padEnd(24)} restarts: ${kubelet.restarts(c)}   proven by its ${/\(([^)]*)\)/.exec(proofs.split(", ").find((p) => p.startsWith(`${c} `)) ?? "")?.[1] ?? "?"}`),
    `the run:    exit ${code} after ${took.toFixed(1)} s (the doubles take real durations × ${0.02}: kube-apiserver's 30 s grace period and start are ~1 s here)`,
    `run again:  ${again.lines.find((l) => l.includes("not due"))?.replace(/^info: /, "") ?? "?"}`,
    `warnings:   ${warnings.length === 0 ? "none" : warnings.join(" | ")}`,
    `annotation: ${DEFAULT_SETTINGS.annotationKey}: "${(await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"))).annotations[DEFAULT_SETTINGS.annotationKey] ?? "(none)"}" on kube-apiserver's static pod (kubectl get pod -o yaml shows it)`,
    "",
    "try next:",
    `  renew-certs status --root ${root}         # every certificate, 0 days old now`,
    `  renew-certs restore --list --root ${root}  # the backup taken before the renewal`,
    "  renew-certs run --help                     # the policy, the proof, the states, the rollback, exit codes",
    `(the CLI is node build/src/cli/main.js until installed; the sandbox stays in ${root})`,
  ].join("\n"));
} finally {
  await kubelet.stop();
  if (process.env["RENEW_CERTS_DEMO_CLEANUP"] === "1") await rm(root, { recursive: true, force: true });
}
process.exitCode = code;
