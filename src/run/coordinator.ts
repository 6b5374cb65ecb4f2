/** Reasons of the Kubernetes Events a run records on its Node. */
export type EventReason = "CertificatesRenewed" | "CertificateRenewalFailed" | "CertificateRenewalRolledBack" | "CertificateRenewalStillDown";

/** A held restart lease. */
export interface Lease {
  release(): Promise<void>;
  /** Why the lease is no longer ours (renewing it failed, another host holds it); undefined while it is. */
  lost(): string | undefined;
}

/**
 * What `run` asks of the cluster around the restart phase: one host at a time (a Lease) and
 * Events for operators. The default does nothing (a single host, or the API unreachable).
 */
export interface Coordinator {
  /** Takes the restart lease (waiting while another host holds it, until `signal` is aborted: TERMINATED); returns its release. */
  acquire(signal?: AbortSignal): Promise<Lease>;
  /** Records an Event on this host's Node; never throws. */
  event(reason: EventReason, message: string, type: "Normal" | "Warning"): Promise<void>;
}

/** A coordinator that coordinates nothing. */
export const NO_COORDINATION: Coordinator = {
  acquire: () => Promise.resolve({ release: () => Promise.resolve(), lost: () => undefined }),
  event: () => Promise.resolve(),
};
