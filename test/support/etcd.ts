import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./tools.js";

/** A free TCP port on 127.0.0.1 (one registry for the whole test process). */
export { freePort } from "../../src/simulator/ports.js";
import { freePort } from "../../src/simulator/ports.js";

/** A real etcd (Debian's etcd-server) serving TLS with a sandbox's etcd certificates. */
export interface RealEtcd {
  endpoint: string;
  /** The peer URL. */
  peer: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts etcd on 127.0.0.1 with the server and peer certificates under `root`. */
export async function startEtcd(root: string): Promise<RealEtcd> {
  const pki = join(root, "etc/kubernetes/pki/etcd");
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const data = await mkdtemp(join(tmpdir(), "renew-certs-etcd-"));
  const endpoint = `https://127.0.0.1:${clientPort}`;
  const peer = `https://127.0.0.1:${peerPort}`;
  const proc = spawn("etcd", [
    "--name=cp-1", `--data-dir=${data}`,
    `--listen-client-urls=${endpoint}`, `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=cp-1=${peer}`,
    `--cert-file=${pki}/server.crt`, `--key-file=${pki}/server.key`, `--trusted-ca-file=${pki}/ca.crt`, "--client-cert-auth=true",
    `--peer-cert-file=${pki}/peer.crt`, `--peer-key-file=${pki}/peer.key`, `--peer-trusted-ca-file=${pki}/ca.crt`, "--peer-client-cert-auth=true",
    "--logger=zap", "--log-outputs=stderr", "--log-level=error",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  proc.stderr?.on("data", (d: Buffer) => { log += d.toString(); });
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
    await rm(data, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`etcd exited: ${log}`);
    const h = etcdctl(root, endpoint, "healthcheck-client", ["endpoint", "health"]);
    if (h.status === 0) return { endpoint, peer, process: proc, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`etcd did not become healthy: ${log}`);
}

/** Runs etcdctl against `endpoint` with one of the sandbox's etcd client certificates. */
export function etcdctl(root: string, endpoint: string, client: "healthcheck-client" | "apiserver-etcd-client", args: string[]): { status: number; stdout: string; stderr: string } {
  const pki = join(root, "etc/kubernetes/pki");
  const [cert, key] = client === "healthcheck-client" ? [`${pki}/etcd/healthcheck-client.crt`, `${pki}/etcd/healthcheck-client.key`] : [`${pki}/apiserver-etcd-client.crt`, `${pki}/apiserver-etcd-client.key`];
  return run("etcdctl", [`--endpoints=${endpoint}`, `--cacert=${pki}/etcd/ca.crt`, `--cert=${cert}`, `--key=${key}`, "--command-timeout=5s", ...args], { env: { ...process.env, ETCDCTL_API: "3" } });
}
