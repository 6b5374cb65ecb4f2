import { join } from "node:path";
import { CAS, LEAVES, KUBELET_CONF, LAYOUT, type CaSpec, type LeafSpec } from "./catalog.js";
import { parseCertificatePem, type Certificate } from "../pki/pem.js";
import { parseKubeconfig, type Kubeconfig } from "../kubeconfig/kubeconfig.js";
import { readText, exists, checkRoot } from "../util/fs.js";
import { RenewCertsError } from "../errors.js";

/** A certificate authority found on disk. */
export interface CaEntry {
  spec: CaSpec;
  certFile: string;
  keyFile: string;
  missing: boolean;
  /** The .crt is there but not the .key: certificates it signs cannot be renewed here. */
  externallyManaged: boolean;
  cert: Certificate | undefined;
}

/** A renewable leaf found on disk (or found missing). */
export interface LeafEntry {
  spec: LeafSpec;
  ca: CaEntry;
  missing: boolean;
  externallyManaged: boolean;
  /** Certificate file: the .crt, the kubeconfig itself (embedded), or the file it points to. */
  certFile: string;
  /** Key file: the .key, the kubeconfig itself (embedded), or the file it points to. */
  keyFile: string;
  /** Every file that holds this certificate or its key. */
  files: string[];
  cert: Certificate | undefined;
  kubeconfig: Kubeconfig | undefined;
}

/** kubelet.conf: reported, never renewed. */
export interface KubeletEntry {
  file: string;
  missing: boolean;
  cert: Certificate | undefined;
  /** Where the client certificate is: embedded in kubelet.conf or the file it names. */
  certFile: string | undefined;
  embedded: boolean;
}

/** Everything kubeadm manages under one root. */
export interface Inventory {
  root: string;
  cas: CaEntry[];
  leaves: LeafEntry[];
  kubelet: KubeletEntry;
  /** No pki/etcd/ca.crt: etcd is external and its rows are left out. */
  externalEtcd: boolean;
}

/** Absolute path of a path of kubeadm's layout under `root`. */
export function hostPath(root: string, ...parts: string[]): string {
  return join(root, ...parts);
}

async function scanCa(root: string, spec: CaSpec): Promise<CaEntry> {
  const certFile = hostPath(root, LAYOUT.pkiDir, `${spec.baseName}.crt`);
  const keyFile = hostPath(root, LAYOUT.pkiDir, `${spec.baseName}.key`);
  if (!(await exists(certFile))) return { spec, certFile, keyFile, missing: true, externallyManaged: false, cert: undefined };
  const cert = parseCertificatePem(await readText(certFile, "CA certificate"), certFile);
  return { spec, certFile, keyFile, missing: false, externallyManaged: !(await exists(keyFile)), cert };
}

async function readPemFile(file: string): Promise<Certificate> {
  return parseCertificatePem(await readText(file, "certificate"), file);
}

async function scanLeaf(root: string, spec: LeafSpec, ca: CaEntry): Promise<LeafEntry> {
  const base = { spec, ca, externallyManaged: ca.externallyManaged || ca.missing };
  if (spec.kind === "pair") {
    const certFile = hostPath(root, LAYOUT.pkiDir, `${spec.baseName}.crt`);
    const keyFile = hostPath(root, LAYOUT.pkiDir, `${spec.baseName}.key`);
    const present = await exists(certFile);
    return { ...base, missing: !present, certFile, keyFile, files: [certFile, keyFile], cert: present ? await readPemFile(certFile) : undefined, kubeconfig: undefined };
  }
  const file = hostPath(root, LAYOUT.kubernetesDir, spec.baseName);
  if (!(await exists(file))) return { ...base, missing: true, certFile: file, keyFile: file, files: [file], cert: undefined, kubeconfig: undefined };
  const kubeconfig = await parseKubeconfig(await readText(file, "kubeconfig"), file, root);
  const cc = kubeconfig.clientCertificate;
  if (cc === undefined) {
    throw new RenewCertsError("KUBECONFIG", `invalid kubeconfig file ${file}: user ${kubeconfig.userName} has no client certificate: restore it from a backup`, { file });
  }
  const certFile = cc.kind === "file" ? cc.hostPath : file;
  const keyFile = kubeconfig.clientKey?.kind === "file" ? kubeconfig.clientKey.hostPath : file;
  const cert = cc.kind === "data" ? parseCertificatePem(cc.pem, `${file} (users[${kubeconfig.userName}].user.client-certificate-data)`) : await readPemFile(cc.hostPath);
  const files = [...new Set([file, certFile, keyFile])];
  return { ...base, missing: false, certFile, keyFile, files, cert, kubeconfig };
}

async function scanKubelet(root: string): Promise<KubeletEntry> {
  const file = hostPath(root, LAYOUT.kubernetesDir, KUBELET_CONF.baseName);
  if (!(await exists(file))) return { file, missing: true, cert: undefined, certFile: undefined, embedded: false };
  const kc = await parseKubeconfig(await readText(file, "kubeconfig"), file, root);
  const cc = kc.clientCertificate;
  if (cc === undefined) return { file, missing: false, cert: undefined, certFile: undefined, embedded: false };
  if (cc.kind === "data") return { file, missing: false, cert: parseCertificatePem(cc.pem, `${file} (client-certificate-data)`), certFile: file, embedded: true };
  // The kubelet's rotated certificate may be absent on a host not yet bootstrapped: not an error.
  const cert = (await exists(cc.hostPath)) ? await readPemFile(cc.hostPath) : undefined;
  return { file, missing: false, cert, certFile: cc.hostPath, embedded: false };
}

/**
 * Checks that `root` exists and holds a kubeadm control plane (etc/kubernetes/pki/ca.crt), before
 * anything reads or writes under it.
 */
export async function checkControlPlane(root: string): Promise<void> {
  await checkRoot(root);
  const caCrt = hostPath(root, LAYOUT.pkiDir, "ca.crt");
  if (!(await exists(caCrt))) {
    throw new RenewCertsError("ROOT", `no kubeadm control plane under ${root}: ${caCrt} not found; pass the right directory with --root`, { file: caCrt });
  }
}

/**
 * Finds every CA, leaf and kubeconfig kubeadm manages under `root` (default "/"). Throws a
 * RenewCertsError naming the file for anything unreadable or unparseable.
 */
export async function scanInventory(root = "/"): Promise<Inventory> {
  await checkControlPlane(root);
  const cas = await Promise.all(CAS.map((spec) => scanCa(root, spec)));
  const etcdCa = cas.find((c) => c.spec.name === "etcd-ca")!;
  const externalEtcd = etcdCa.missing;
  const wanted = LEAVES.filter((l) => !(externalEtcd && l.ca === "etcd-ca"));
  const leaves = await Promise.all(wanted.map((spec) => scanLeaf(root, spec, cas.find((c) => c.spec.name === spec.ca)!)));
  return { root, cas: externalEtcd ? cas.filter((c) => c !== etcdCa) : cas, leaves, kubelet: await scanKubelet(root), externalEtcd };
}
