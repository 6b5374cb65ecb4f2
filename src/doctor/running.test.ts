import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { copySandbox } from "../../test/support/sandbox.js";
import { DEFAULT_SETTINGS } from "../config/settings.js";
import { scanInventory } from "../inventory/scan.js";
import { readManifest } from "../manifests/manifest.js";
import { etcdTarget } from "../run/reload-proof.js";
import type { TlsIdentity } from "../kube/tls.js";
import { checkRunning, type TlsProbe } from "./running.js";

const DAY = 86_400_000;
const identity = (fingerprint: string, o: Partial<TlsIdentity> = {}): TlsIdentity => ({ fingerprint, subject: "CN=x", validFrom: 0, validTo: Date.now() + 365 * DAY, startedAt: undefined, ...o });

test("doctor says when kube-apiserver's loopback certificate forces its next restart in each restart mode, and judges a listed etcd by the certificates it serves", async (t) => {
  const root = await copySandbox(t, { keySpec: { type: "ec", curve: "P-256" }, ageDays: 10 });
  const inv = await scanInventory(root);
  const pki = join(root, "etc/kubernetes/pki");
  const fp = async (f: string) => new X509Certificate(await readFile(join(pki, f))).fingerprint256;
  const api = (await readManifest(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"))).advertiseEndpoint;
  const etcd = etcdTarget(root, await readManifest(join(root, "etc/kubernetes/manifests/etcd.yaml")))!;
  const now = new Date();
  const loopbackEnd = now.getTime() + 200 * DAY;
  const served: Record<string, TlsIdentity> = {
    [`${api.port}`]: identity(await fp("apiserver.crt")),
    [`${api.port}/loopback`]: identity("AA", { validTo: loopbackEnd, startedAt: now.getTime() - 165 * DAY }),
    [`${etcd.client.port}`]: identity(await fp("etcd/server.crt")),
    [`${etcd.peer.port}`]: identity(await fp("etcd/server.crt")), // not the peer certificate
  };
  const tls: TlsProbe = (e, servername) => Promise.resolve(served[`${e.port}${servername ? "/loopback" : ""}`]);
  const settings = { ...DEFAULT_SETTINGS, manifests: ["kube-apiserver", "etcd"] };
  const all = await checkRunning({ root, settings, inv, now, tls });
  const apiserverAll = all.find((f) => f.check === "kube-apiserver runs the files on disk")!;
  assert.equal(apiserverAll.severity, "OK");
  assert.match(apiserverAll.detail, /proven by the fingerprint it serves.*; its loopback certificate, made at its start .*, expires on \d{4}-\d\d-\d\d: every renewal restarts it \(restart mode all\)$/);
  const minimal = await checkRunning({ root, settings: { ...settings, restartMode: "minimal" }, inv, now, tls });
  const forcedFrom = new Date(loopbackEnd - 90 * DAY).toISOString().slice(0, 10);
  assert.match(minimal.find((f) => f.check === "kube-apiserver runs the files on disk")!.detail, new RegExp(`in restart mode minimal, the first renewal from ${forcedFrom} on restarts it`));
  const e = all.find((f) => f.check === "etcd runs the files on disk")!;
  assert.equal(e.severity, "WARN");
  assert.match(e.detail, /^127\.0\.0\.1:\d+ serves another certificate than etcd\/peer\.crt \(etcd re-reads/);
  served[`${etcd.peer.port}`] = identity(await fp("etcd/peer.crt"));
  const ok = (await checkRunning({ root, settings, inv, now, tls })).find((f) => f.check === "etcd runs the files on disk")!;
  assert.equal(ok.severity, "OK", ok.detail);
  assert.match(ok.detail, /serves etcd\/server\.crt, .* serves etcd\/peer\.crt on new connections/);
});
