import { test } from "node:test";
import assert from "node:assert/strict";
import { filesOf, restartsFor, TRUST_LOCATIONS } from "./trust-locations.js";
import { nextRecord } from "./record.js";

test("what must restart after each CA's renewal is what reads it only at start", () => {
  assert.deepEqual(restartsFor("ca").map((r) => r.reader), ["kube-controller-manager", "kube-scheduler", "kubelet"]);
  assert.deepEqual(restartsFor("etcd-ca").map((r) => r.reader), ["etcd", "kube-apiserver"]);
  assert.deepEqual(restartsFor("front-proxy-ca"), [], "every reader of front-proxy-ca.crt re-reads it");
  assert.match(restartsFor("ca")[0]!.why.join(", "), /pki\/ca\.crt \(--root-ca-file .*controller-manager\.conf \(certificate-authority-data\)/);
});

test("every kubeconfig that trusts the cluster CA on a control-plane host is a location, the CA file first", () => {
  assert.deepEqual(filesOf("ca").map((f) => f.path), [
    "etc/kubernetes/pki/ca.crt", "etc/kubernetes/admin.conf", "etc/kubernetes/super-admin.conf", "etc/kubernetes/controller-manager.conf",
    "etc/kubernetes/scheduler.conf", "etc/kubernetes/kubelet.conf", "root/.kube/config",
  ]);
  assert.deepEqual(filesOf("etcd-ca").map((f) => f.path), ["etc/kubernetes/pki/etcd/ca.crt"]);
  assert.ok(TRUST_LOCATIONS.every((l) => l.proof.length > 0), "every location says how it is proven");
});

const cert = (fp: string, notAfter: string): { fingerprint256: string; serial: string; notAfter: Date } => ({ fingerprint256: fp, serial: fp, notAfter: new Date(notAfter) });

test("the deadline is the replaced certificate's NotAfter, or an earlier deadline not yet passed of the renewal before it", () => {
  const now = new Date("2030-01-01T00:00:00Z");
  const first = nextRecord({ ca: "ca", now, made: cert("B", "2040-01-01T00:00:00Z"), replaced: cert("A", "2030-06-01T00:00:00Z"), earlier: undefined });
  assert.equal(first.deadline, "2030-06-01T00:00:00.000Z");
  const second = nextRecord({ ca: "ca", now: new Date("2030-02-01T00:00:00Z"), made: cert("C", "2040-02-01T00:00:00Z"), replaced: cert("B", "2040-01-01T00:00:00Z"), earlier: first });
  assert.equal(second.deadline, "2030-06-01T00:00:00.000Z", "a consumer may still hold A until its NotAfter");
  const late = nextRecord({ ca: "ca", now: new Date("2031-01-01T00:00:00Z"), made: cert("C", "2041-01-01T00:00:00Z"), replaced: cert("B", "2040-01-01T00:00:00Z"), earlier: first });
  assert.equal(late.deadline, "2040-01-01T00:00:00.000Z", "A's deadline has passed: B's NotAfter is the next one");
  const stale = nextRecord({ ca: "ca", now: new Date("2030-02-01T00:00:00Z"), made: cert("C", "2040-02-01T00:00:00Z"), replaced: cert("X", "2035-01-01T00:00:00Z"), earlier: first });
  assert.equal(stale.deadline, "2035-01-01T00:00:00.000Z", "a record of another certificate (a restored backup) is not carried");
});
