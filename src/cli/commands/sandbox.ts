import { resolve } from "node:path";
import type { Command } from "../command.js";
import { bool, str } from "../command.js";
import { RenewCertsError } from "../../errors.js";
import { parseKeySpec } from "../../pki/keys.js";
import { createSandbox } from "../../sandbox/sandbox.js";
import { createWorkerSandbox } from "../../sandbox/worker.js";
import { readdir } from "node:fs/promises";

function intFlag(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new RenewCertsError("USAGE", `${name} must be a whole number from ${min} to ${max} (got ${value})`);
  return n;
}

export const sandboxCommand: Command = {
  name: "sandbox",
  summary: "create a kubeadm-layout control plane on disk, for trying renew-certs safely",
  help: `Usage: renew-certs sandbox DIR [--age-days N] [--ca-age-days N] [--key-type rsa-2048|ecdsa-p256]
                           [--external-etcd] [--external-ca] [--node-name NAME]
       renew-certs sandbox DIR --worker-of CPDIR [--node-name NAME]

Writes a complete kubeadm control plane under DIR (etc/kubernetes/pki, the
kubeconfigs, the static pod manifests, sa.key/sa.pub), with kubeadm's subjects,
SANs and usages. Every other command accepts --root DIR to work on it.

Options:
  --age-days N       issue the leaf certificates N days ago (default 0); they
                     are valid 365 days from issue, the CAs 10 years
  --ca-age-days N    issue the CAs N days ago (default: --age-days); 3300
                     makes them due for renewal, 3700 expired (the 10-year cliff)
  --key-type T       rsa-2048 (default), rsa-3072, rsa-4096, ecdsa-p256 or ecdsa-p384
  --external-etcd    no etcd CA and no etcd certificates, as with external etcd
  --external-ca      no ca.key, as when the Kubernetes CA is kept off the host
  --node-name NAME   the host's name in certificates and manifests (default cp-1)
  --address IP       the API server's advertise address (default 127.0.0.1)
  --apiserver-port P the API server's secure port (default 6443)

With --worker-of CPDIR, DIR becomes a worker node that joined the sandbox control
plane CPDIR (as kubeadm join leaves one): a copy of its pki/ca.crt, kubelet.conf
pointing at its API server with that CA, the kubelet's client certificate signed
by its CA key (ending at the CA certificate's NotAfter when that comes first, as
the controller-manager's signer does), no CA key and no control-plane manifest;
--node-name defaults to w-1. "renew-certs run --root DIR" does a worker's job there.

DIR must not exist or be empty.

Example:
  renew-certs sandbox /tmp/cp --age-days 300 && renew-certs status --root /tmp/cp
`,
  options: {
    "age-days": { type: "string" },
    "ca-age-days": { type: "string" },
    "key-type": { type: "string" },
    "external-etcd": { type: "boolean" },
    "external-ca": { type: "boolean" },
    "node-name": { type: "string" },
    address: { type: "string" },
    "apiserver-port": { type: "string" },
    "worker-of": { type: "string" },
  },
  async run(args, io) {
    const [dir, ...extra] = args.positionals;
    if (!dir || extra.length > 0) throw new RenewCertsError("USAGE", "sandbox takes exactly one directory: renew-certs sandbox DIR");
    const target = resolve(dir);
    const entries = await readdir(target).catch(() => [] as string[]);
    if (entries.length > 0) throw new RenewCertsError("USAGE", `${target} is not empty: choose a new directory for the sandbox`, { file: target });
    const keyType = str(args, "key-type") ?? "rsa-2048";
    const keySpec = parseKeySpec(keyType);
    if (!keySpec) throw new RenewCertsError("USAGE", `--key-type must be rsa-2048, rsa-3072, rsa-4096, ecdsa-p256 or ecdsa-p384 (got ${keyType})`);
    const nodeName = str(args, "node-name");
    if (nodeName !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName)) throw new RenewCertsError("USAGE", `--node-name must be a lowercase DNS name (got ${nodeName})`);
    const workerOf = str(args, "worker-of");
    if (workerOf !== undefined) {
      const made = await createWorkerSandbox(target, { of: resolve(workerOf), nodeName: nodeName ?? "w-1" });
      io.stdout(`sandbox worker node written to ${made.root} (${made.files} files; its kubelet's healthz port is ${made.healthzPort})\nnext: renew-certs run --root ${made.root}\n`);
      return 0;
    }
    const result = await createSandbox(target, {
      ageDays: intFlag(str(args, "age-days"), "--age-days", 0, 3650) ?? 0,
      ...(str(args, "ca-age-days") ? { caAgeDays: intFlag(str(args, "ca-age-days"), "--ca-age-days", 0, 36_500)! } : {}),
      keySpec,
      externalEtcd: bool(args, "external-etcd"),
      externalCa: bool(args, "external-ca"),
      ...(nodeName ? { nodeName } : {}),
      ...(str(args, "address") ? { address: str(args, "address")! } : {}),
      ...(str(args, "apiserver-port") ? { apiserverPort: intFlag(str(args, "apiserver-port"), "--apiserver-port", 1, 65535)! } : {}),
    });
    io.stdout(`sandbox control plane written to ${result.root} (${result.files} files, certificates issued ${result.issuedAt.toISOString()})\nnext: renew-certs status --root ${result.root}\n`);
    return 0;
  },
};
