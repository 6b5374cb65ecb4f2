// The cluster side of a CA renewal, in one import: where the new certificate is published and how
// another host adopts it (publication.ts, cluster-info.ts), and the proof that the cluster's objects
// hold it (cluster-proof.ts).
export { CLUSTER_INFO, PUBLISHED_CAS, checkAdoptable, keyPin, publishCa, publishedWhere, readPublishedCa } from "./publication.js";
export { CLUSTER_OBJECTS, proveCaInCluster, type ClusterObject, type ClusterProof } from "./cluster-proof.js";
