import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { CAS, LAYOUT, LEAVES } from "../inventory/catalog.js";
import { generateKey, privateKeyPem, type KeySpec } from "../pki/keys.js";
import { issueCertificate, type Issuer } from "../pki/sign.js";
import { parseCertificatePem } from "../pki/pem.js";
import { caExtensions, leafExtensions } from "../pki/profile.js";
import { DAY_MS } from "../policy/age.js";
import { kubeadmProfiles, kubeletProfile, type HostFacts } from "./profiles.js";
import { kubeadmManifests } from "./manifests.js";
import { KUBELET_CONFIG_YAML } from "./kubelet-config.js";
import { KUBELET_CONFIG } from "../kubelet/healthz.js";
import { RenewCertsError, fileError } from "../errors.js";

/** Options of `renew-certs sandbox`. */
export interface SandboxOptions {
  /** Days since the leaves were issued (default 0). */
  ageDays?: number;
  /** Days since the CAs were issued (default: ageDays); 3650 or more makes them expired, as at the 10-year cliff. */
  caAgeDays?: number;
  keySpec?: KeySpec;
  /** Leave out the etcd CA and certificates, as with external etcd. */
  externalEtcd?: boolean;
  /** Remove ca.key, as when the Kubernetes CA is kept outside the cluster. */
  externalCa?: boolean;
  nodeName?: string;
  /** Advertise address (default 127.0.0.1, so the sandbox's endpoints are local). */
  address?: string;
  apiserverPort?: number;
  etcdClientPort?: number;
  etcdPeerPort?: number;
  /** The clock (default: now). */
  now?: Date;
}

/** What a sandbox was made of, for the caller's messages. */
export interface SandboxResult {
  root: string;
  issuedAt: Date;
  files: number;
}

const FIVE_MINUTES = 5 * 60_000;

/** A kubeconfig as kubeadm writes it: one cluster, one user (embedded credentials or a file holding both). */
export function kubeconfigYaml(opts: { server: string; user: string; caPem: string; cert: { data: string; key: string } | { file: string } }): string {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  const context = `${opts.user}@kubernetes`;
  const user = "file" in opts.cert
    ? { "client-certificate": opts.cert.file, "client-key": opts.cert.file }
    : { "client-certificate-data": b64(opts.cert.data), "client-key-data": b64(opts.cert.key) };
  return stringify({
    apiVersion: "v1",
    clusters: [{ cluster: { "certificate-authority-data": b64(opts.caPem), server: opts.server }, name: "kubernetes" }],
    contexts: [{ context: { cluster: "kubernetes", user: opts.user }, name: context }],
    "current-context": context,
    kind: "Config",
    preferences: {},
    users: [{ name: opts.user, user }],
  }, { lineWidth: 0, indentSeq: false });
}

/**
 * Writes a complete kubeadm-layout control plane under `dir`: three CAs, every leaf with
 * kubeadm's subjects, SANs and usages, five kubeconfigs, sa.key/sa.pub and static pod manifests.
 */
export async function createSandbox(dir: string, o: SandboxOptions = {}): Promise<SandboxResult> {
  const now = o.now ?? new Date();
  const ageDays = o.ageDays ?? 0;
  if (!Number.isInteger(ageDays) || ageDays < 0) throw new RenewCertsError("USAGE", `--age-days must be a whole number of days ≥ 0 (got ${ageDays})`);
  const spec: KeySpec = o.keySpec ?? { type: "rsa", bits: 2048 };
  const host: HostFacts = { nodeName: o.nodeName ?? "cp-1", address: o.address ?? "127.0.0.1", apiserverPort: o.apiserverPort ?? 6443, serviceIp: "10.96.0.1" };
  const issued = new Date(now.getTime() - ageDays * DAY_MS);
  const notBefore = new Date(issued.getTime() - FIVE_MINUTES);
  const leafNotAfter = new Date(issued.getTime() + 365 * DAY_MS);
  const caAgeDays = o.caAgeDays ?? ageDays;
  if (!Number.isInteger(caAgeDays) || caAgeDays < ageDays) throw new RenewCertsError("USAGE", `--ca-age-days must be a whole number of days ≥ --age-days (got ${caAgeDays})`);
  const caIssued = new Date(now.getTime() - caAgeDays * DAY_MS);
  const caNotBefore = new Date(caIssued.getTime() - FIVE_MINUTES);
  const caNotAfter = new Date(caIssued.getTime() + 3650 * DAY_MS);
  const k8s = join(dir, LAYOUT.kubernetesDir);
  const pki = join(dir, LAYOUT.pkiDir);
  let files = 0;
  const put = async (file: string, content: string, mode: number): Promise<void> => {
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o755 });
      await writeFile(file, content, { mode });
    } catch (e) {
      throw fileError(e, file, "sandbox file");
    }
    files++;
  };

  const cas = CAS.filter((c) => !(o.externalEtcd && c.name === "etcd-ca"));
  const profiles = kubeadmProfiles(host).filter((p) => !(o.externalEtcd && p.ca === "etcd-ca"));
  // All keys at once: key generation is the whole cost, and it runs on the thread pool.
  const [caKeys, leafKeys, kubeletKey, saPair] = await Promise.all([
    Promise.all(cas.map(() => generateKey(spec))),
    Promise.all(profiles.map(() => generateKey(spec))),
    generateKey(spec),
    promisify(generateKeyPair)("rsa", { modulusLength: 2048 }),
  ]);
  const issuers = new Map<string, Issuer & { pem: string }>();
  await Promise.all(cas.map(async (ca, i) => {
    const key = caKeys[i]!;
    const pem = await issueCertificate({ subject: `CN=${ca.commonName}`, key, notBefore: caNotBefore, notAfter: caNotAfter, extensions: await caExtensions(key, ca.commonName) });
    issuers.set(ca.name, { cert: parseCertificatePem(pem, `${ca.baseName}.crt`), key, pem });
    await put(join(pki, `${ca.baseName}.crt`), pem, 0o644);
    if (!(o.externalCa && ca.name === "ca")) await put(join(pki, `${ca.baseName}.key`), privateKeyPem(key), 0o600);
  }));
  const server = `https://${host.address}:${host.apiserverPort}`;
  const sign = (key: KeyObject, issuer: Issuer, profile: (typeof profiles)[number]["profile"]): Promise<string> =>
    issueCertificate({ subject: profile.subject, key, issuer, notBefore, notAfter: leafNotAfter, extensions: leafExtensions(profile, spec.type) });
  await Promise.all(profiles.map(async (p, i) => {
    const key = leafKeys[i]!;
    const issuer = issuers.get(p.ca)!;
    const certPem = await sign(key, issuer, p.profile);
    const leaf = LEAVES.find((l) => l.name === p.name)!;
    if (leaf.kind === "pair") {
      await put(join(pki, `${leaf.baseName}.crt`), certPem, 0o644);
      await put(join(pki, `${leaf.baseName}.key`), privateKeyPem(key), 0o600);
    } else {
      await put(join(k8s, leaf.baseName), kubeconfigYaml({ server, user: p.user!, caPem: issuer.pem, cert: { data: certPem, key: privateKeyPem(key) } }), 0o600);
    }
  }));
  // kubelet.conf points at the kubelet's rotated certificate, as after kubeadm's TLS bootstrap.
  const kubeletPem = await sign(kubeletKey, issuers.get("ca")!, kubeletProfile(host));
  const kubeletFile = "/var/lib/kubelet/pki/kubelet-client-current.pem";
  await put(join(dir, kubeletFile), kubeletPem + privateKeyPem(kubeletKey), 0o600);
  await put(join(k8s, "kubelet.conf"), kubeconfigYaml({ server, user: `system:node:${host.nodeName}`, caPem: issuers.get("ca")!.pem, cert: { file: kubeletFile } }), 0o600);
  await put(join(pki, "sa.key"), privateKeyPem(saPair.privateKey), 0o600);
  await put(join(pki, "sa.pub"), createPublicKey(saPair.privateKey).export({ type: "spki", format: "pem" }).toString(), 0o644);
  const manifests = kubeadmManifests(host, { externalEtcd: o.externalEtcd ?? false, etcdClientPort: o.etcdClientPort ?? 2379, etcdPeerPort: o.etcdPeerPort ?? 2380 });
  for (const [name, text] of Object.entries(manifests)) await put(join(dir, LAYOUT.manifestsDir, name), text, 0o600);
  await put(join(dir, KUBELET_CONFIG), KUBELET_CONFIG_YAML, 0o644);
  return { root: dir, issuedAt: issued, files };
}

