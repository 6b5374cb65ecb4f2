// "still down": a restarted component was not proven new and healthy on the renewed certificates,
// and the certificates it ran before cannot work: they have expired, or expire within the safety
// margin. Restoring them would leave the control plane down on certificates that never work again,
// so the run keeps the renewed files, records what it tried (state.ts: stillDown, the record stays in
// its phase), and exits STILL_DOWN (15) with what is down, what was tried and the commands to run
// next. The next run resumes the restart from the record.
import { join } from "node:path";
import { RenewCertsError } from "../errors.js";
import { DAY_MS } from "../policy/age.js";
import type { RunContext } from "./context.js";
import type { ComponentUnhealthyError } from "./prove.js";
import { describeAttempt, type FallbackAttempt } from "./fallback.js";
import { enter, type RunRecord } from "./state.js";

/** Why the previous certificates cannot work (undefined: they can, and a rollback is the answer). */
export function previousCannotWork(r: RunRecord, now: Date, safetyMarginDays: number): string | undefined {
  // A CA certificate that has expired breaks every handshake verified against it, whatever the leaves say.
  for (const c of r.cas ?? []) {
    const until = Date.parse(c.previousNotAfter);
    if (until <= now.getTime()) return `the previous certificate of CA ${c.ca} expired on ${c.previousNotAfter}`;
    if (until <= now.getTime() + safetyMarginDays * DAY_MS) return `the previous certificate of CA ${c.ca} expires on ${c.previousNotAfter}, within the safety margin of ${safetyMarginDays} days`;
  }
  if (!r.previousNotAfter) return undefined;
  const until = Date.parse(r.previousNotAfter);
  if (until <= now.getTime()) return `the previous certificates expired on ${r.previousNotAfter}`;
  if (until <= now.getTime() + safetyMarginDays * DAY_MS) return `the previous certificates expire on ${r.previousNotAfter}, within the safety margin of ${safetyMarginDays} days`;
  return undefined;
}

/** Keeps the renewed files, records the run as still down and throws STILL_DOWN (see the top of this file). */
export async function keepRenewed(ctx: RunContext, record: RunRecord, failure: ComponentUnhealthyError, why: string, tried: FallbackAttempt[]): Promise<never> {
  const at = ctx.now().toISOString();
  const r = await enter(ctx.stateDir, { ...record, stillDown: { at, component: failure.component, reason: failure.message, tried: tried.map(describeAttempt) } }, record.phase, ctx.onStep);
  const step = r.steps.find((s) => s.component === failure.component);
  const file = join(ctx.root, step?.file ?? "");
  const triedText = tried.length > 0 ? tried.map(describeAttempt).join("; ") : "nothing beyond the restart annotation (the kubelet fallbacks come after fallbackAfterSeconds)";
  const msg = `${failure.message}. Not rolled back: ${why}, so the renewed certificates stay (backup of the previous files: ${r.backup}). ` +
    `Tried: ${triedText}. ${failure.component} is still down; next: look at the kubelet (journalctl -u kubelet -n 100; crictl ps -a --name ${failure.component}), ` +
    `restart it (systemctl restart kubelet), then run "renew-certs run" again: it resumes the restart where this one stopped`;
  await ctx.coordinator.event("CertificateRenewalStillDown", msg, "Warning");
  throw new RenewCertsError("STILL_DOWN", msg, { file });
}
