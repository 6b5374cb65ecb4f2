// Crash tests of a run that renews certificate authorities: `run` killed with SIGKILL right after
// each durable step of a CA renewal (the intent record, the CA files, kubeconfigs and ca-<name>.json
// records, the "renewed" record, the kubelet's restart and its record, each restart, the cluster
// steps' records), then run again: the next run must finish on one consistent set of files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulatedHost } from "../../test/support/simulated.js";
import { crashTable, firstWords, runCli, sampleFileWrites, stepsOf, successProblems } from "../../test/support/crash-table.js";
import type { SimulatedHost } from "../../test/support/simulated.js";

const sim = { timeScale: 0.005 };
const PKI = "etc/kubernetes/pki";

async function configFor(root: string): Promise<string> {
  const file = join(root, "renew-certs.yaml");
  await writeFile(file, "nodeName: cp-1\nhealthTimeoutSeconds: 60\nfallbackAfterSeconds: 1\nleaseWaitSeconds: 5\nlockTimeoutSeconds: 5\n");
  return file;
}

/** What is wrong with the CAs after a finished run: each re-signed (valid ten years), each record naming the file's certificate. */
async function caProblems(h: SimulatedHost): Promise<string[]> {
  const out: string[] = [];
  for (const [ca, file] of [["ca", "ca.crt"], ["etcd-ca", "etcd/ca.crt"], ["front-proxy-ca", "front-proxy-ca.crt"]] as const) {
    const cert = new X509Certificate(await readFile(join(h.root, PKI, file)));
    if (Date.parse(cert.validTo) < Date.now() + 3000 * 86_400_000) out.push(`${ca} not re-signed`);
    const record = JSON.parse(await readFile(join(h.root, `var/lib/renew-certs/ca-${ca}.json`), "utf8").catch(() => "{}")) as { fingerprint256?: string };
    if (record.fingerprint256 !== cert.fingerprint256) out.push(`ca-${ca}.json does not name ${file}'s certificate`);
  }
  return out;
}

test("a run renewing the CAs killed after each of its durable steps, then run again: it finishes with every CA re-signed, its record, and the control plane on the files, exit 0", async (t) => {
  const host = () => simulatedHost(t, { caAgeDays: 3400, sim });
  const probe = await host();
  const { steps: all, run: whole } = await stepsOf(probe, await configFor(probe.root));
  await probe.kubelet.stop();
  assert.equal(whole.status, 0, whole.stderr);
  // The renewal's file writes are killed one by one in ca/crash.test.ts and renewal/renew.test.ts:
  // here the CA run's own records and effects, and the first and last write of the renewal.
  const own = (w: string): boolean => /^renamed (state:|kubelet-restarted|var\/lib\/renew-certs\/ca-)/.test(w);
  const sampled = sampleFileWrites(all);
  const writes = sampled.filter((x) => x.what.startsWith("renamed etc/kubernetes/"));
  const steps = sampled.filter((x) => own(x.what) || x === writes[0] || x === writes[writes.length - 1]);
  const whats = steps.map((s) => s.what);
  assert.ok(whats.some((w) => /var\/lib\/renew-certs\/ca-etcd-ca\.json/.test(w)), whats.join("\n"));
  assert.ok(whats.includes("renamed kubelet-restarted"), "the kubelet's restart for kubelet.conf's CA data is a kill point");
  assert.ok(whats.includes("renamed state:verified"), "the cluster steps' records are kill points");
  await crashTable(t, {
    steps, host, config: (root) => configFor(root), width: 2, columns: ["next run"],
    after: async (h, c) => {
      const next = await runCli(h, c);
      await h.kubelet.settled();
      return { cells: [`exit ${next.status}: ${firstWords(next.stderr + next.stdout)}`], problems: [...(await successProblems(h, next)), ...(await caProblems(h))] };
    },
  });
});
