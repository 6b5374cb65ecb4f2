// What a component double's process is started with: the manifest as the kubelet read it, and
// the certificate the real component would make in memory at its start (kube-apiserver's loopback
// certificate; the serving certificate of kube-controller-manager and kube-scheduler), made here,
// by whoever starts the process, at its start: the process itself then loads no X.509 builder,
// and its start-up, which is restart time, stays short.
import type { Endpoint, ManifestInfo } from "../manifests/manifest.js";
import { selfSignedServing, type KeyPairPem } from "./selfsigned.js";
import type { SimOptions } from "./timing.js";

/** The server name kube-apiserver's loopback clients ask for (LoopbackClientServerNameOverride). */
export const LOOPBACK_SERVER_NAME = "apiserver-loopback-client";

/** A component process's start, as JSON in SIM_COMPONENT. */
export interface ComponentSpec {
  component: string;
  root: string;
  file: string;
  flags: Record<string, string>;
  advertise: Endpoint;
  secure: Endpoint | undefined;
  healthy: boolean;
  /** Epoch ms. */
  startedAt: number;
  memoryCert: KeyPairPem;
}

/** The spec of a process of `m`'s component starting now. */
export async function componentSpec(root: string, m: ManifestInfo, healthy: boolean, sim: SimOptions): Promise<ComponentSpec> {
  const startedAt = Date.now();
  // etcd's double serves nothing of its own: no certificate to make (and no start-up time spent on one).
  if (m.component === "etcd") return { component: m.component, root, file: m.file, flags: Object.fromEntries(m.flags), advertise: m.advertiseEndpoint, secure: undefined, healthy, startedAt, memoryCert: { cert: "", key: "" } };
  const apiserver = m.component === "kube-apiserver";
  const memoryCert = await selfSignedServing({
    cn: `${apiserver ? LOOPBACK_SERVER_NAME : "localhost"}@${Math.floor(startedAt / 1000)}`,
    dnsNames: [apiserver ? LOOPBACK_SERVER_NAME : "localhost"], ...(apiserver ? {} : { ipAddresses: ["127.0.0.1"] }),
    notBefore: new Date(startedAt - 3_600_000), notAfter: new Date(startedAt + (apiserver ? sim.loopbackValidityDays : 365) * 86_400_000),
  });
  return { component: m.component, root, file: m.file, flags: Object.fromEntries(m.flags), advertise: m.advertiseEndpoint, secure: m.secureEndpoint, healthy, startedAt, memoryCert };
}
