// What a renewal of every certificate would refuse before its first write, read from the
// inventory alone: `status` says "run would refuse (exit N)" instead of "run would renew".
// It follows the order of renewCertificates (renew.ts): every selected leaf is loaded and checked
// (pki/allow-list.ts) before any CA's validity is (reissue.ts), so a leaf's refusal comes first.
// A key that does not match its certificate is not predicted: that needs the keys read.
import { relative } from "node:path";
import type { Inventory } from "../inventory/scan.js";
import { caBitsOf, unknownCriticalOf } from "../pki/allow-list.js";
import { parsedCertificate } from "../pki/sign.js";
import type { ErrorCode } from "../errors.js";
import { selectLeaves } from "./plan.js";

/** A refusal a renewal would meet: its error code and, for people, what and what to do. */
export interface Refusal {
  code: Extract<ErrorCode, "LEAF_IS_CA" | "UNKNOWN_CRITICAL" | "CA_NOT_VALID">;
  /** The certificate (leaf or CA) that is refused, by kubeadm's name. */
  certificate: string;
  /** The file that holds it, absolute on the host (under the root). */
  file: string;
  /** One sentence: what is wrong and what to do. */
  text: string;
}

/** The first refusal `renew all` would meet at `now`, or undefined when it would go ahead. */
export function forecastRefusal(inv: Inventory, now: Date): Refusal | undefined {
  const { selected } = selectLeaves(inv, ["all"]);
  const onHost = (file: string): string => `/${relative(inv.root, file)}`;
  for (const l of selected) {
    const where = onHost(l.kubeconfig ? l.kubeconfig.file : l.certFile);
    const cert = parsedCertificate(l.cert!);
    const caBits = caBitsOf(cert);
    if (caBits.length > 0) {
      const text = `${l.spec.name} (${where}) is a CA certificate (${caBits.join(", ")}) where kubeadm keeps a leaf: `
        + `replace it with a leaf (kubeadm certs renew ${l.spec.name}) or restore it from a backup`;
      return { code: "LEAF_IS_CA", certificate: l.spec.name, file: where, text };
    }
    const unknown = unknownCriticalOf(cert);
    if (unknown) {
      const text = `${l.spec.name} (${where}) carries a critical extension renew-certs does not carry over, ${unknown}: re-issue it with the tool that made it`;
      return { code: "UNKNOWN_CRITICAL", certificate: l.spec.name, file: where, text };
    }
  }
  for (const ca of new Set(selected.map((l) => l.ca))) {
    const c = ca.cert;
    if (!c) continue;
    const expired = c.notAfter.getTime() <= now.getTime();
    // An expired CA whose key is here is re-signed by the run before the leaves (src/ca/run-step.ts).
    if (expired && !ca.externallyManaged) continue;
    if (expired || c.notBefore.getTime() > now.getTime()) {
      const when = expired ? `expired on ${c.notAfter.toISOString()}` : `is not valid before ${c.notBefore.toISOString()}`;
      const text = `CA ${ca.spec.name} ${when}: the certificates it signs cannot be renewed`;
      return { code: "CA_NOT_VALID", certificate: ca.spec.name, file: onHost(ca.certFile), text };
    }
  }
  return undefined;
}
