// "CA cluster objects": after the restarts of a run that renewed a CA, its certificate is published
// for the other hosts (unless it was adopted from there) and the cluster objects that trust the CA
// are checked (kube-public/cluster-info, every kube-root-ca.crt, extension-apiserver-authentication:
// src/ca/cluster-port.ts). Each step is recorded in the record's `cas` entry before the next one.
// A proof that does not hold within healthTimeoutSeconds is a warning with what to check, never a
// rollback: the files on this host are right, and the objects follow them (the controller-manager
// republishes kube-root-ca.crt after its leader election, kube-apiserver merges its files every minute).
import { readFile } from "node:fs/promises";
import type { CaName } from "../inventory/catalog.js";
import { scanInventory } from "../inventory/scan.js";
import { NO_CA_CLUSTER, type ObjectProof } from "../ca/cluster-port.js";
import { realClock } from "./wait.js";
import type { RunContext } from "./context.js";
import { enter, type RunCa, type RunRecord } from "./state.js";

/** The PEM of `ca`'s file on this host, when it holds the run's certificate. */
async function currentPem(ctx: RunContext, c: RunCa): Promise<string | undefined> {
  const entry = (await scanInventory(ctx.root)).cas.find((e) => e.spec.name === c.ca);
  if (!entry?.cert || entry.cert.x509.fingerprint256 !== c.fingerprint256) return undefined;
  return readFile(entry.certFile, "utf8");
}

/** Asks until every object holds the certificate or the health timeout passes; returns the last answers. */
async function proveUntil(ctx: RunContext, ca: CaName, pem: string): Promise<ObjectProof[] | Error> {
  const clock = ctx.clock ?? realClock;
  const deadline = clock.now() + ctx.settings.healthTimeoutSeconds * 1000;
  for (;;) {
    const answer = await ctx.caCluster!.prove(ca, pem).catch((e: unknown) => e as Error);
    if (!(answer instanceof Error) && answer.every((p) => p.holds)) return answer;
    if (clock.now() >= deadline) return answer;
    await clock.sleep(ctx.intervalMs ?? 1000);
  }
}

/** Publishes (or says it adopted) one CA's certificate; returns the entry with `published` set. */
async function publish(ctx: RunContext, c: RunCa, pem: string): Promise<RunCa> {
  if (c.adoptedFrom) return { ...c, published: `adopted from ${c.adoptedFrom}` };
  try {
    const { where } = await ctx.caCluster!.publish(c.ca, pem);
    ctx.log.info(`published the new ${c.ca} certificate in ${where}: the other control-plane hosts adopt it at their next run`);
    return { ...c, published: where };
  } catch (e) {
    ctx.log.warn(`could not publish the new ${c.ca} certificate (${(e as Error).message}): the other hosts re-sign their own; the next run here adopts the one published first`);
    return { ...c, published: `not published: ${(e as Error).message}` };
  }
}

/** Logs each object's proof; returns how many did not hold. */
function report(ctx: RunContext, ca: CaName, proofs: ObjectProof[] | Error): number {
  const waited = `${ctx.settings.healthTimeoutSeconds} s`;
  if (proofs instanceof Error) {
    ctx.log.warn(`${ca}: the cluster objects could not be checked (${proofs.message}): the files on this host hold the new certificate (not rolled back); ` +
      "check with renew-certs ca status once the API server answers");
    return 1;
  }
  for (const p of proofs) {
    if (p.holds) ctx.log.info(`${ca}: ${p.object} holds the new certificate (${p.detail})`);
    else ctx.log.warn(`${ca}: ${p.object} does not hold the new certificate after ${waited} (${p.detail}): the files on this host are right (not rolled back); ` +
      `check that kube-controller-manager runs and holds its lease, and kubectl get ${p.object.replace(/^([^/]+)\/(.*)$/, "-n $1 configmap $2")} -o yaml`);
  }
  return proofs.filter((p) => !p.holds).length;
}

/** Publishes and proves every CA of the record not checked yet; returns the record. */
export async function caClusterSteps(ctx: RunContext, record: RunRecord): Promise<RunRecord> {
  let r = record;
  for (let i = 0; i < (r.cas ?? []).length; i++) {
    let c = r.cas![i]!;
    if (c.checked) continue;
    const pem = await currentPem(ctx, c);
    if (!pem || !ctx.caCluster || ctx.caCluster === NO_CA_CLUSTER) {
      const why = pem ? "this run has no access to the cluster's CA objects" : "the CA file no longer holds the run's certificate";
      ctx.log.warn(`${c.ca}: not published and the cluster objects not checked (${why}): check them with renew-certs ca status`);
      c = { ...c, checked: ctx.now().toISOString() };
    } else {
      if (!c.published) {
        c = await publish(ctx, c, pem);
        r = await enter(ctx.stateDir, withCa(r, i, c), r.phase, ctx.onStep);
      }
      report(ctx, c.ca, await proveUntil(ctx, c.ca, pem));
      c = { ...c, checked: ctx.now().toISOString() };
    }
    r = await enter(ctx.stateDir, withCa(r, i, c), r.phase, ctx.onStep);
  }
  return r;
}

function withCa(r: RunRecord, i: number, c: RunCa): RunRecord {
  return { ...r, cas: r.cas!.map((x, j) => (j === i ? c : x)) };
}
