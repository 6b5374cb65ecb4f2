// The kubeconfig in kube-public/cluster-info, as kubeadm writes it (one cluster, named "", no users)
// and as kubeadm's discovery reads it (GetClusterFromKubeConfig: the unnamed cluster, else the
// current context's). renew-certs replaces only its certificate-authority-data, spliced into the
// text where it stands (util/yaml-splice.ts): every other byte stays, so only the CA changes for the
// bootstrap signer's JWS and for whoever compares the object.
import { RenewCertsError } from "../errors.js";
import { decodeBase64Field } from "../pki/pem.js";

const SOURCE = "kube-public/cluster-info (data.kubeconfig)";

function bad(why: string): RenewCertsError {
  return new RenewCertsError("KUBECONFIG", `${SOURCE} ${why}: kubeadm makes it (kubeadm init phase bootstrap-token); repair or make it again that way`, { file: SOURCE });
}

/** The cluster entry discovery reads, as a YAML node, with the document. */
async function clusterNode(text: string) {
  const yaml = await import("yaml");
  const doc = yaml.parseDocument(text);
  if (doc.errors.length > 0) throw bad("is not valid YAML");
  const clusters = doc.get("clusters");
  if (!yaml.isSeq(clusters)) throw bad("names no cluster");
  const entries = clusters.items.filter(yaml.isMap);
  const byName = (name: unknown) => entries.find((e) => e.get("name") === name);
  let entry = byName("");
  if (!entry) {
    const current = doc.get("current-context");
    const contexts = doc.get("contexts");
    const context = yaml.isSeq(contexts) ? contexts.items.filter(yaml.isMap).find((c) => c.get("name") === current) : undefined;
    const inner = context?.get("context");
    entry = byName(yaml.isMap(inner) ? inner.get("cluster") : undefined) ?? (entries.length === 1 ? entries[0] : undefined);
  }
  const cluster = entry?.get("cluster");
  if (!yaml.isMap(cluster)) throw bad("has no cluster that kubeadm's discovery would read (an unnamed one, or the current context's)");
  return { cluster, doc };
}

/** The CA certificate(s) cluster-info's kubeconfig carries (PEM). */
export async function clusterInfoCa(text: string): Promise<string> {
  const { cluster } = await clusterNode(text);
  const data = cluster.get("certificate-authority-data");
  if (typeof data !== "string") throw bad("has no certificate-authority-data");
  return decodeBase64Field(data, `${SOURCE} certificate-authority-data`);
}

/** cluster-info's kubeconfig text with `pem` as the CA data of its cluster; every other byte kept. */
export async function withClusterInfoCa(text: string, pem: string): Promise<string> {
  const { SourceEditor, appendToMap, findPair, replaceValue } = await import("../util/yaml-splice.js");
  const { cluster } = await clusterNode(text);
  const value = Buffer.from(pem, "utf8").toString("base64");
  const ed = new SourceEditor(text);
  const pair = findPair(cluster, "certificate-authority-data");
  if (pair) replaceValue(ed, pair, value);
  else appendToMap(ed, cluster, "certificate-authority-data", value);
  const out = ed.apply();
  if ((await clusterInfoCa(out)) !== pem) throw new RenewCertsError("INTERNAL", `could not put the new CA into ${SOURCE} without reformatting it: report its shape`, { file: SOURCE });
  return out;
}
