// Proof that a restarted component is a NEW process: the one serving now started after its
// manifest changed, and the one that served before is gone. Each source is evidence that would be
// false if no restart had happened (a served fingerprint of a reloaded file proves nothing:
// kube-apiserver re-reads its serving certificate by itself). In this order of preference:
// 1. the certificate the component made in memory at its start: kube-apiserver's loopback one
//    (served for the server name apiserver-loopback-client), the serving certificate of
//    kube-controller-manager and kube-scheduler. It changes exactly when the process does, and
//    its subject names the start ("…@<unix seconds>").
// 2. the mirror pod: the annotation just written, a container started after the write, Ready.
// 3. the process table, where the service can see it (/proc; never needed under ProtectProc=invisible).
// 4. for a component with no certificate of its own in memory (etcd, kube-proxy), the container
//    runtime (crictl ps): a running container created after the write, none from before it still
//    running. With the API server down (an expired control plane) it is the one proof of etcd's restart.
import type { Endpoint, ManifestInfo } from "../manifests/manifest.js";
import { sameFingerprint, type TlsIdentity } from "../kube/tls.js";
import type { ProcessEntry } from "../util/proc.js";
import type { ComponentStep, Identity } from "./state.js";

/** The server name kube-apiserver serves its loopback certificate to (LoopbackClientServerNameOverride). */
export const LOOPBACK_SERVER_NAME = "apiserver-loopback-client";

/** A mirror pod, as much as the proof reads. */
export interface MirrorPod {
  metadata: { annotations?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[]; containerStatuses?: { state?: { running?: { startedAt?: string } } }[] };
}

/** What the proofs ask of the host; tests inject their own. */
export interface IdentityProbes {
  /** The certificate served at `endpoint` on a fresh connection (asking for `servername`); undefined when nothing answers. */
  tls(endpoint: Endpoint, servername?: string): Promise<TlsIdentity | undefined>;
  /** The mirror pod kube-system/`name`; undefined when the API does not answer or has none. */
  mirrorPod(name: string): Promise<MirrorPod | undefined>;
  /** The processes running `program` that the process table shows ([] when it shows none). */
  processes(program: string): ProcessEntry[];
  /** The containers of `component` the container runtime lists (crictl ps -a); absent where none can be asked. */
  containers?(component: string): Promise<{ id: string; state: "running" | "exited"; createdAt: number }[]>;
}

/** Where a component's in-memory certificate is served, and what people call it. */
export function tlsSourceOf(m: ManifestInfo): { endpoint: Endpoint; servername?: string; label: string } | undefined {
  if (m.component === "kube-apiserver") return { endpoint: m.advertiseEndpoint, servername: LOOPBACK_SERVER_NAME, label: "loopback certificate" };
  if (m.secureEndpoint) return { endpoint: m.secureEndpoint, label: "serving certificate" };
  return undefined;
}

/** Who runs `m`'s component now. */
export async function identityOf(m: ManifestInfo, probes: IdentityProbes): Promise<Identity> {
  const src = tlsSourceOf(m);
  const tls = src ? await probes.tls(src.endpoint, src.servername) : undefined;
  const pids = probes.processes(m.component).map((p) => p.pid);
  return { ...(tls ? { tls } : {}), ...(pids.length > 0 ? { pids } : {}) };
}

/** Evidence for or against a new process. */
export interface Evidence {
  proven: boolean;
  /** The source that decided ("loopback certificate", "mirror pod", "process table"). */
  by: string;
  detail: string;
  /** Who runs now, when proven. */
  identity?: Identity;
}

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
const secondOf = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** Weighs the evidence that `step`'s component runs as a new process; the first source that proves it wins. */
export async function newProcessEvidence(step: ComponentStep, m: ManifestInfo, o: { probes: IdentityProbes; nodeName: string; annotationKey: string }): Promise<Evidence> {
  const notes: string[] = [];
  const src = tlsSourceOf(m);
  if (src) {
    const now = await o.probes.tls(src.endpoint, src.servername);
    const was = step.before.tls;
    if (now && was && !sameFingerprint(now.fingerprint, was.fingerprint)) {
      return { proven: true, by: src.label, detail: `${src.label} changed: ${now.subject} (was ${was.subject})`, identity: { tls: now } };
    }
    // Down before the change: only a certificate that names a start after the change proves anything.
    if (now && !was && now.startedAt !== undefined && now.startedAt >= secondOf(step.writtenAt)) {
      return { proven: true, by: src.label, detail: `${src.label} made at ${clock(now.startedAt)}, after the manifest changed at ${clock(step.writtenAt)}`, identity: { tls: now } };
    }
    if (now && was) notes.push(`still the process${was.startedAt !== undefined ? ` started ${clock(was.startedAt)}` : ""} (${src.label} unchanged)`);
    else if (now) notes.push(`the process answering started ${now.startedAt !== undefined ? clock(now.startedAt) : "at an unknown time"} (${src.label} ${now.subject})`);
    else notes.push(`nothing serves its ${src.label} at ${src.endpoint.host}:${src.endpoint.port}`);
  }
  const pod = await o.probes.mirrorPod(`${m.name}-${o.nodeName}`);
  if (pod) {
    const ann = pod.metadata.annotations?.[o.annotationKey] ?? "";
    const started = Date.parse(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? "");
    const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    if (ann === step.annotation && Number.isFinite(started) && started >= secondOf(step.writtenAt) && ready) {
      return { proven: true, by: "mirror pod", detail: `mirror pod ${m.name}-${o.nodeName}: ${o.annotationKey}=${JSON.stringify(ann)}, container started ${clock(started)}, Ready`, identity: {} };
    }
    notes.push(`mirror pod ${ann === step.annotation ? `annotated, ${Number.isFinite(started) ? `container started ${clock(started)}` : "no running container"}${ready ? "" : ", not Ready"}` : `not updated yet (${o.annotationKey}=${JSON.stringify(ann)})`}`);
  }
  const procs = o.probes.processes(m.component);
  if (procs.length > 0) {
    const old = procs.filter((p) => step.before.pids?.includes(p.pid));
    const fresh = procs.filter((p) => !step.before.pids?.includes(p.pid) && p.startedAt >= step.writtenAt - 1000);
    if (old.length === 0 && fresh.length > 0) {
      return { proven: true, by: "process table", detail: `pid ${fresh.map((p) => p.pid).join(", ")} started ${clock(fresh[0]!.startedAt)}; the previous pid${(step.before.pids?.length ?? 0) === 1 ? " is" : "s are"} gone`, identity: { pids: fresh.map((p) => p.pid) } };
    }
    notes.push(old.length > 0 ? `pid ${old.map((p) => p.pid).join(", ")} from before the change still runs` : "no process started after the change");
  }
  const listed = !src && o.probes.containers ? await o.probes.containers(m.component).catch(() => undefined) : undefined;
  if (listed) {
    const running = listed.filter((c) => c.state === "running");
    const fresh = running.filter((c) => c.createdAt >= secondOf(step.writtenAt));
    const old = running.filter((c) => c.createdAt < secondOf(step.writtenAt));
    if (fresh.length > 0 && old.length === 0) {
      return { proven: true, by: "container runtime", detail: `container ${fresh[0]!.id} created ${clock(fresh[0]!.createdAt)}, after the manifest changed; none from before runs`, identity: {} };
    }
    notes.push(old.length > 0 ? `container ${old[0]!.id} from before the change still runs` : "no container created after the change runs");
  }
  return { proven: false, by: "", detail: notes.join("; ") || "no source shows the process" };
}

/** How the proof of a rollback says that a component was never replaced (ComponentStep.proven.by). */
export const UNCHANGED = "unchanged process";

/**
 * The evidence that `before`, the process that ran before the renewal, still runs `m`'s component:
 * the same in-memory certificate (and, where the process table shows them, the same pids). Such a
 * process never loaded the renewed files: once they are restored it runs the previous ones and
 * needs no restart. Undefined when it is gone, or when nothing identified it before.
 */
export async function unchangedEvidence(before: Identity, m: ManifestInfo, probes: IdentityProbes): Promise<Evidence | undefined> {
  const src = tlsSourceOf(m);
  const parts: string[] = [];
  if (src && before.tls) {
    const now = await probes.tls(src.endpoint, src.servername);
    if (!now || !sameFingerprint(now.fingerprint, before.tls.fingerprint)) return undefined;
    const started = before.tls.startedAt !== undefined ? `, started ${new Date(before.tls.startedAt).toISOString()}` : "";
    parts.push(`${src.label} ${before.tls.fingerprint.slice(0, 23)}…${started}`);
  }
  if (before.pids?.length) {
    const pids = probes.processes(m.component).map((p) => p.pid);
    if (!before.pids.every((p) => pids.includes(p))) return undefined;
    parts.push(`pid ${before.pids.join(", ")}`);
  }
  if (parts.length === 0) return undefined;
  return { proven: true, by: UNCHANGED, detail: `still the process that ran before the renewal (${parts.join("; ")}): it runs the previous files; not restarted`, identity: before };
}

/** Whether the component still is the process that was proven (for the check before the verdict). */
export async function stillProven(step: ComponentStep, m: ManifestInfo, probes: IdentityProbes): Promise<{ ok: boolean; detail: string }> {
  const src = tlsSourceOf(m);
  const want = step.proven?.identity.tls;
  if (!src || !want) return { ok: true, detail: "" };
  const now = await probes.tls(src.endpoint, src.servername);
  if (!now) return { ok: false, detail: `nothing serves its ${src.label} any more` };
  if (!sameFingerprint(now.fingerprint, want.fingerprint)) return { ok: false, detail: `restarted again since it was proven (${src.label} now ${now.subject})` };
  return { ok: true, detail: "" };
}
