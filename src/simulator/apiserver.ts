// Test double of kube-apiserver, run as its own process by the kubelet double. What it does is what
// the real one (v1.28) does in every way renew-certs depends on (SPEC.md, last section):
// - it serves --tls-cert-file/--tls-private-key-file and re-reads them when they change, without a
//   restart (dynamic serving content): a key and certificate that do not match keep the old pair;
//   --client-ca-file is re-read the same way (SimOptions.apiserverReloads false plays a version that
//   does not, which a run must restart; "newer-only" one that never takes the previous files
//   back); what else the real one re-reads (--requestheader-client-ca-file,
//   the front-proxy, kubelet and etcd client certificates, on new connections) the double never
//   presents to anyone after its start, so nothing depends on it;
// - at every start it has a new self-signed loopback certificate, CN=apiserver-loopback-client@<unix
//   start>, NotBefore one hour before the start, served to clients asking for the server name
//   apiserver-loopback-client: a new fingerprint there means a new process (made by whoever starts
//   the process, spec.ts, so that the process itself loads no X.509 builder: start-up is restart time);
// - it reaches etcd first: with an expired or foreign etcd client certificate, or an expired etcd
//   serving certificate, it retries for a while and exits (the kubelet restarts it, crash loop);
// - it takes a while to start serving, and on SIGTERM it stops listening at once but lingers until
//   the kubelet kills it at the end of the grace period (draining; kube-apiserver often needs all of it);
// - client certificates are requested, not required: no certificate is system:anonymous (health
//   endpoints only), one that does not verify is 401 (see api.ts). Objects persist in a store file;
// - at its first start it stores what kubeadm init leaves (namespaces, kube-public/cluster-info with
//   pki/ca.crt as it is then: cluster-seed.ts), and it merges its client CA files into
//   kube-system/extension-apiserver-authentication at start and then periodically (authentication-sync.ts).
import { readFileSync, statSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { handle } from "./api.js";
import { ObjectStore, storeFileOf } from "./store.js";
import { seedCluster } from "./cluster-seed.js";
import { syncAuthentication } from "./authentication-sync.js";
import { REAL_MS, scaled, type SimOptions } from "./timing.js";
import { LOOPBACK_SERVER_NAME, type ComponentSpec } from "./spec.js";

export { LOOPBACK_SERVER_NAME };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why etcd would refuse this API server now (undefined: it would accept it). */
function etcdRefusal(root: string, flag: (n: string) => string | undefined): string | undefined {
  const certFile = flag("etcd-certfile");
  const caFile = flag("etcd-cafile");
  if (!certFile || !caFile) return undefined; // external etcd without client certificates: nothing to check
  const now = Date.now();
  try {
    const ca = new X509Certificate(readFileSync(join(root, caFile)));
    const client = new X509Certificate(readFileSync(join(root, certFile)));
    if (!client.checkIssued(ca) || !client.verify(ca.publicKey)) return `etcd client certificate ${certFile} is not signed by ${caFile}`;
    if (Date.parse(client.validTo) <= now) return `x509: certificate has expired (etcd refuses the client certificate ${certFile})`;
    const server = join(root, "etc/kubernetes/pki/etcd/server.crt");
    const served = new X509Certificate(readFileSync(server));
    if (Date.parse(served.validTo) <= now) return "x509: certificate has expired (etcd serves an expired certificate)";
  } catch (e) {
    return `cannot load the etcd client credentials: ${(e as Error).message}`;
  }
  return undefined;
}

/** A running API server double. */
export interface ApiserverDouble {
  port: number;
  store: ObjectStore;
  /** SIGTERM's effect: stop accepting connections (the process itself lingers). */
  stopListening(): void;
  close(): Promise<void>;
}

/** Options of an API server double. */
export interface ApiserverOptions {
  sim: SimOptions;
  /** Called with "METHOD path" for every request: for tests. */
  onRequest?: (line: string) => void;
}

/** Starts the API server double for `spec` (componentSpec); resolves once it serves. */
export async function startApiserver(spec: ComponentSpec, o: ApiserverOptions): Promise<ApiserverDouble> {
  const { root, file } = spec;
  const flag = (n: string): string | undefined => spec.flags[n];
  const need = (n: string): string => {
    const v = flag(n);
    if (!v) throw new Error(`${file}: no --${n}`);
    return join(root, v);
  };
  // Connecting to etcd: refused connections are retried, then it gives up (the process exits).
  for (const until = Date.now() + scaled(o.sim, REAL_MS.etcdRetry); ;) {
    const refused = etcdRefusal(root, flag);
    if (!refused) break;
    if (Date.now() >= until) throw new Error(`F0000 failed to connect to etcd: ${refused}`);
    await sleep(scaled(o.sim, 1000));
  }
  const loopback = spec.memoryCert;
  const files = [need("tls-cert-file"), need("tls-private-key-file"), need("client-ca-file")] as const;
  const stampOf = (): string => files.map((f) => { const s = statSync(f); return `${s.ino}:${s.size}:${s.mtimeMs}`; }).join("|");
  const load = (): { stamp: string; options: { cert: Buffer; key: Buffer; ca: Buffer } } => ({ stamp: stampOf(), options: { cert: readFileSync(files[0]), key: readFileSync(files[1]), ca: readFileSync(files[2]) } });
  let current = load();
  const loopbackContext: SecureContext = createSecureContext({ cert: loopback.cert, key: loopback.key });
  const store = new ObjectStore(storeFileOf(root));
  seedCluster(store, { advertise: spec.advertise, caPem: current.options.ca.toString() });
  syncAuthentication(store, root, flag);
  await sleep(scaled(o.sim, REAL_MS.apiserverStart));
  const healthy = spec.healthy;
  const server = createServer({
    ...current.options, requestCert: true, rejectUnauthorized: false,
    SNICallback: (name, cb) => cb(null, name === LOOPBACK_SERVER_NAME ? loopbackContext : undefined),
  }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      o.onRequest?.(`${req.method} ${new URL(req.url ?? "/", "https://x").pathname}`);
      handle({ store, healthy: () => healthy, anonymousClusterInfo: o.sim.anonymousClusterInfo !== false }, req, res, Buffer.concat(chunks));
    });
  });
  // Dynamic serving content: new connections get the files as they are now.
  let ignored = "";
  const notBefore = (pem: Buffer): number => Date.parse(new X509Certificate(pem).validFrom);
  const reload = setInterval(() => {
    if (!o.sim.apiserverReloads) return;
    try {
      const stamp = stampOf();
      if (stamp === current.stamp || stamp === ignored) return;
      const next = load();
      if (o.sim.apiserverReloads === "newer-only" && notBefore(next.options.cert) <= notBefore(current.options.cert)) {
        ignored = next.stamp; // not newer: this version never takes it back
        return;
      }
      server.setSecureContext(next.options); // throws on a key that does not match: the old pair stays
      current = next;
    } catch {
      // half-written or mismatched pair: keep serving the previous one, as the real one does
    }
  }, 100);
  reload.unref();
  const authentication = setInterval(() => syncAuthentication(store, root, flag), Math.max(250, scaled(o.sim, REAL_MS.authenticationSync)));
  authentication.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(spec.advertise.port, spec.advertise.host, resolve);
  });
  const stopListening = (): void => {
    clearInterval(reload);
    clearInterval(authentication);
    server.close();
    server.closeIdleConnections();
  };
  return {
    port: (server.address() as AddressInfo).port, store, stopListening,
    close: () => new Promise<void>((r) => { stopListening(); server.closeAllConnections(); r(); }),
  };
}
