// The end of a control-plane run, towards the cluster: this host's report on its own Node, then
// the count of Nodes that still hold a CA certificate other than the current one, for the metrics
// file. Both through admin.conf and this host's API server; both best effort: a failure is a
// warning (the report) or a debug line (the count), never the run's result.
import type { Logger } from "../log/logger.js";
import { oldCaCount } from "./cluster-read.js";
import { reportClient, writeNodeReport } from "./node-report.js";

/** What the metrics file gets from the cluster: the Nodes on an old CA and the CA deadline (unix time in the file). */
export interface ClusterMetrics {
  oldCaNodes: number;
  deadline: Date;
}

/** Writes this control plane's report and counts the Nodes on an old CA (undefined when they cannot be listed). */
export async function reportControlPlaneRun(o: {
  root: string; nodeName: string; exitCode: number; now: Date; log: Logger; leaves: { name: string; notAfter: Date }[];
}): Promise<ClusterMetrics | undefined> {
  const client = await reportClient(o.root, "control-plane").catch((e: unknown) => {
    o.log.warn(`could not write this run's report on Node ${o.nodeName} (the run's result stands): ${(e as Error).message}`);
    return undefined;
  });
  if (!client) return undefined;
  await writeNodeReport({ ...o, role: "control-plane", client });
  try {
    const counted = await oldCaCount(o.root, client, o.now);
    return counted ? { oldCaNodes: counted.oldCa, deadline: counted.deadline } : undefined;
  } catch (e) {
    o.log.debug(`could not count the Nodes on an old CA: ${(e as Error).message}`);
    return undefined;
  }
}
