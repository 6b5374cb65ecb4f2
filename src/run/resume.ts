// "resume": a run that finds the record of an unfinished one finishes it before anything else, from
// the state the crash left (state.ts): restarts still to do are done and proven; a rollback is
// completed and reported as one (exit 7 or 8), never as a success.
import { relative } from "node:path";
import type { Inventory } from "../inventory/scan.js";
import { manifestsToRestart } from "../manifests/list.js";
import type { RunContext } from "./context.js";
import { describeRun, type RunRecord } from "./state.js";
import { rollBackFrom } from "./rollback.js";
import { complete, restartAll } from "./sequence.js";

/** A record written by an older version carries less: the rest comes from the settings and the disk. */
async function upgrade(ctx: RunContext, r: RunRecord, inv: Inventory): Promise<RunRecord> {
  if (!r.legacy) return r;
  const list = await manifestsToRestart(ctx.root, ctx.settings.manifests);
  const previous = (r as unknown as { previousApiserver?: string }).previousApiserver;
  return {
    job: "run", phase: "renewed", started: r.started, backup: r.backup, renewed: [],
    apiserver: { renewed: inv.leaves.find((l) => l.spec.name === "apiserver")?.cert?.x509.fingerprint256 ?? "", previous },
    restart: list.present.map((m) => ({ component: m.component, file: relative(ctx.root, m.file) })), steps: [],
  };
}

/** Finishes the run `record` describes; returns the finished record (a rollback throws). */
export async function resume(ctx: RunContext, record: RunRecord, inv: Inventory): Promise<RunRecord> {
  const r = await upgrade(ctx, record, inv);
  const { state, next } = describeRun(r);
  ctx.log.warn(`the last run stopped while ${state}: this run will ${next}`, { backup: r.backup });
  switch (r.phase) {
    case "renewed":
    case "reloading":
    case "restarting":
    case "proven": {
      const done = await restartAll(ctx, r);
      await complete(ctx, done);
      return done;
    }
    case "verified":
      await complete(ctx, r);
      return r;
    case "rolling-back":
    case "restored":
    case "restarting-previous":
    case "rolled-back":
      return rollBackFrom(ctx, r);
  }
}
