import type { Logger } from "../log/logger.js";
import type { EventReason } from "../run/coordinator.js";
import type { KubeClient } from "../kube/client.js";

/**
 * Records a core/v1 Event on the Node (namespace default, as the kubelet's node events), so that
 * `kubectl get events` shows each renewal. Never throws: an event is worth a warning, not a failure.
 */
export async function recordEvent(client: KubeClient, o: { node: string; reason: EventReason; message: string; type: "Normal" | "Warning"; now: Date; log: Logger }): Promise<void> {
  const t = o.now.toISOString().replace(/\.\d{3}Z$/, "Z");
  const body = {
    apiVersion: "v1",
    kind: "Event",
    metadata: { generateName: `${o.node}.renew-certs.`, namespace: "default" },
    involvedObject: { apiVersion: "v1", kind: "Node", name: o.node, uid: o.node },
    reason: o.reason,
    message: o.message.slice(0, 1024),
    type: o.type,
    source: { component: "renew-certs", host: o.node },
    reportingComponent: "renew-certs",
    reportingInstance: o.node,
    firstTimestamp: t,
    lastTimestamp: t,
    count: 1,
  };
  try {
    await client.create("/api/v1/namespaces/default/events", body);
  } catch (e) {
    o.log.warn(`could not record the ${o.reason} event on node ${o.node}: ${(e as Error).message}`);
  }
}
