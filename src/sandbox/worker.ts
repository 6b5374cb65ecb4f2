// A worker node tree that joins a sandbox control plane, as `kubeadm join` leaves a node: pki/ca.crt
// (a copy of the control plane's), kubelet.conf pointing at the control plane's API server with that
// CA's data and the kubelet's rotated client certificate (var/lib/kubelet/pki/kubelet-client-current.pem,
// signed here with the control plane's CA key, as its controller-manager would), the kubelet's
// configuration, and an empty manifests directory. No CA key, no control-plane manifest: `run`
// takes it for a worker (src/worker/role.ts).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LAYOUT } from "../inventory/catalog.js";
import { generateKey, privateKeyPem } from "../pki/keys.js";
import { issueCertificate } from "../pki/sign.js";
import { parseCertificatePem, parsePrivateKeyPem } from "../pki/pem.js";
import { leafExtensions } from "../pki/profile.js";
import { readManifest } from "../manifests/manifest.js";
import { KUBELET_CONFIG } from "../kubelet/healthz.js";
import { DAY_MS } from "../policy/age.js";
import { freePort } from "../simulator/ports.js";
import { fileError, RenewCertsError } from "../errors.js";
import { KUBELET_CONFIG_YAML } from "./kubelet-config.js";
import { kubeletProfile } from "./profiles.js";
import { kubeconfigYaml } from "./sandbox.js";

/** Options of a worker sandbox. */
export interface WorkerSandboxOptions {
  /** The control-plane sandbox it joins (its CA, its API server's endpoint). */
  of: string;
  nodeName: string;
  /**
   * End the kubelet's client certificate at the CA certificate's NotAfter when that comes first,
   * as the controller-manager's signer does (default true).
   */
  capKubeletClient?: boolean;
  /** The CA certificate the node holds (default: the control plane's pki/ca.crt): an older one of the same key plays a node that missed a renewal. */
  caPem?: string;
  /** The kubelet's healthz port (default: a free one, so that it runs beside the control plane's). */
  healthzPort?: number;
  now?: Date;
}

/** Writes the worker node tree under `dir` (see the top of this file); returns the files written. */
export async function createWorkerSandbox(dir: string, o: WorkerSandboxOptions): Promise<{ root: string; files: number; healthzPort: number }> {
  const now = o.now ?? new Date();
  const pki = join(o.of, LAYOUT.pkiDir);
  const read = (file: string, what: string): Promise<string> => readFile(file, "utf8").catch((e: unknown) => {
    throw e instanceof Error && (e as NodeJS.ErrnoException).code === "ENOENT"
      ? new RenewCertsError("USAGE", `--worker-of ${o.of} is not a sandbox control plane: ${file} not found (${what})`, { file })
      : fileError(e, file, what);
  });
  const cpCaPem = await read(join(pki, "ca.crt"), "its CA certificate");
  const caPem = o.caPem ?? cpCaPem;
  const ca = { cert: parseCertificatePem(caPem, join(pki, "ca.crt")), key: parsePrivateKeyPem(await read(join(pki, "ca.key"), "its CA key"), join(pki, "ca.key")) };
  const api = (await readManifest(join(o.of, LAYOUT.manifestsDir, "kube-apiserver.yaml"))).advertiseEndpoint;
  const key = await generateKey({ type: "ec", curve: "P-256" });
  const profile = kubeletProfile({ nodeName: o.nodeName, address: api.host, apiserverPort: api.port, serviceIp: "10.96.0.1" });
  const wanted = new Date(now.getTime() + 365 * DAY_MS);
  const notAfter = o.capKubeletClient !== false && ca.cert.notAfter < wanted ? ca.cert.notAfter : wanted;
  const clientPem = await issueCertificate({ subject: profile.subject, key, issuer: ca, notBefore: new Date(now.getTime() - 5 * 60_000), notAfter, extensions: leafExtensions(profile, "ec") });
  const healthzPort = o.healthzPort ?? (await freePort());
  const clientFile = "/var/lib/kubelet/pki/kubelet-client-current.pem";
  const host = api.host.includes(":") ? `[${api.host}]` : api.host;
  const files: [string, string, number][] = [
    [join(LAYOUT.pkiDir, "ca.crt"), caPem, 0o644],
    [join(LAYOUT.kubernetesDir, "kubelet.conf"), kubeconfigYaml({ server: `https://${host}:${api.port}`, user: `system:node:${o.nodeName}`, caPem, cert: { file: clientFile } }), 0o600],
    [clientFile.slice(1), clientPem + privateKeyPem(key), 0o600],
    [KUBELET_CONFIG, KUBELET_CONFIG_YAML.replace(/^healthzPort:.*$/m, `healthzPort: ${healthzPort}`), 0o644],
  ];
  for (const [rel, content, mode] of files) {
    const file = join(dir, rel);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, content, { mode });
  }
  await mkdir(join(dir, LAYOUT.manifestsDir), { recursive: true, mode: 0o755 });
  return { root: dir, files: files.length, healthzPort };
}
