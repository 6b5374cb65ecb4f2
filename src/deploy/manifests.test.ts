// The manifests `renew-certs deploy` prints, as kubectl would read them: every document validated
// against the Kubernetes OpenAPI schemas (kubernetes-models' validators, generated from them), and
// what the issue asks of the DaemonSet checked field by field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { DaemonSet, type IDaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { ConfigMap, type IConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { cli } from "../../test/support/cli.js";
import { parseConfigText, resolveSettings } from "../config/load.js";
import { renderConfigFile } from "../host/files.js";
import { hostFiles } from "../host/files.js";

/** The documents of a `deploy` output, each validated by the model of its kind. */
function documents(stdout: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(stdout).map((d) => d.toJS() as Record<string, unknown>).filter((d) => d !== null);
  for (const d of docs) {
    const model = { Namespace, ConfigMap, DaemonSet }[String(d["kind"]) as "Namespace" | "ConfigMap" | "DaemonSet"];
    assert.ok(model, `unexpected kind ${String(d["kind"])}`);
    new model(d as never).validate();
  }
  return docs;
}

function deploy(args: string[]): Record<string, unknown>[] {
  const r = cli(["deploy", ...args]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  return documents(r.stdout);
}

test("the validator rejects what the API server would: a wrong type, a missing required field", () => {
  const ds = deploy([]).find((d) => d["kind"] === "DaemonSet") as unknown as IDaemonSet;
  const bad = structuredClone(ds);
  (bad.spec!.template.spec!.initContainers![0]!.securityContext as Record<string, unknown>)["privileged"] = "true";
  assert.throws(() => new DaemonSet(bad).validate(), /privileged must be boolean/);
  const noName = structuredClone(ds);
  delete (noName.spec!.template.spec!.containers[0] as Partial<{ name: string }>).name;
  assert.throws(() => new DaemonSet(noName).validate(), /containers\/0 must have required property name/);
});

test("deploy prints a privileged Namespace, the ConfigMap install would write, and a DaemonSet, all valid", async () => {
  const docs = deploy(["--image", "registry.example/renew-certs:0.1.0", "--certificate-renew-interval", "45", "--schedule", "weekly", "--restart-mode", "minimal"]);
  assert.deepEqual(docs.map((d) => d["kind"]), ["Namespace", "ConfigMap", "DaemonSet"]);
  const ns = docs[0]!["metadata"] as { name: string; labels: Record<string, string> };
  assert.equal(ns.name, "renew-certs");
  assert.equal(ns.labels["pod-security.kubernetes.io/enforce"], "privileged");
  const cm = docs[1] as unknown as IConfigMap;
  const settings = await resolveSettings({ flags: { certificateRenewInterval: 45, schedule: "weekly", restartMode: "minimal" } });
  // The same bytes install writes for these settings, and the schema accepts them.
  assert.equal(cm.data!["config.yaml"], renderConfigFile(settings));
  assert.equal(cm.data!["config.yaml"], hostFiles(settings)[0]!.content);
  assert.deepEqual(parseConfigText(cm.data!["config.yaml"]!, "config.yaml").problems, []);
});

test("the DaemonSet tolerates every taint, has no API credentials, no RBAC, no priority class, and rolls one node at a time", () => {
  const docs = deploy(["--namespace", "kube-certs"]);
  assert.ok(docs.every((d) => !/Role|ServiceAccount/.test(String(d["kind"]))), "no RBAC objects");
  const ds = docs.find((d) => d["kind"] === "DaemonSet") as unknown as IDaemonSet;
  assert.equal(ds.metadata!.namespace, "kube-certs");
  const pod = ds.spec!.template.spec!;
  // An empty key with Exists tolerates every taint, among them both control-plane taints.
  assert.ok(pod.tolerations!.some((t) => t.key === undefined && t.operator === "Exists" && t.effect === undefined));
  for (const key of ["node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"]) assert.ok(pod.tolerations!.some((t) => t.key === key));
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.serviceAccountName, undefined);
  assert.equal(pod.priorityClassName, undefined);
  assert.equal(pod.hostPID, true);
  assert.deepEqual(ds.spec!.updateStrategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });
  for (const key of ["name", "instance", "component", "version", "part-of", "managed-by"]) assert.ok(ds.spec!.template.metadata!.labels![`app.kubernetes.io/${key}`]);
  assert.deepEqual(pod.volumes!.find((v) => v.name === "host")!.hostPath, { path: "/", type: "Directory" });
  assert.deepEqual(pod.volumes!.find((v) => v.configMap?.name === "kube-root-ca.crt")!.configMap, { name: "kube-root-ca.crt" });
  const init = pod.initContainers![0]!;
  assert.equal(init.securityContext!.privileged, true);
  assert.deepEqual(init.command!.slice(1, 5), ["deploy", "install-host", "--host-root", "/host"]);
  assert.equal(init.terminationMessagePath, "/dev/termination-log");
  assert.ok(init.command!.includes("/dev/termination-log"));
  assert.deepEqual(pod.containers.map((c) => c.command!.slice(1)), [["deploy", "pause"]]);
  assert.equal(pod.containers[0]!.securityContext!.privileged, undefined);
  assert.ok(pod.containers[0]!.volumeMounts!.some((m) => m.name === pod.volumes!.find((v) => v.configMap?.name === "kube-root-ca.crt")!.name));
});

test("a changed configuration changes the pod template, so the pods roll and the init container runs again", () => {
  const hash = (args: string[]): string => (deploy(args).find((d) => d["kind"] === "DaemonSet") as unknown as IDaemonSet).spec!.template.metadata!.annotations!["renew-certs/config-sha256"]!;
  assert.equal(hash([]), hash([]));
  assert.notEqual(hash([]), hash(["--schedule", "weekly"]));
});

test("deploy --uninstall prints a valid DaemonSet of the same name and selector that runs uninstall-host", () => {
  const install = deploy([]).find((d) => d["kind"] === "DaemonSet") as unknown as IDaemonSet;
  const docs = deploy(["--uninstall"]);
  assert.deepEqual(docs.map((d) => d["kind"]), ["Namespace", "DaemonSet"]);
  const ds = docs[1] as unknown as IDaemonSet;
  assert.equal(ds.metadata!.name, install.metadata!.name);
  assert.deepEqual(ds.spec!.selector, install.spec!.selector);
  assert.deepEqual(ds.spec!.template.spec!.initContainers![0]!.command!.slice(1, 3), ["deploy", "uninstall-host"]);
  assert.ok(ds.spec!.template.spec!.containers.every((c) => c.lifecycle === undefined), "no preStop hook");
});

const BAD: { args: string[]; status: number; message: RegExp }[] = [
  { args: ["--certificate-renew-interval", "400"], status: 3, message: /certificate-renew-interval/ },
  { args: ["--restart-mode", "some"], status: 3, message: /--restart-mode: must be/ },
  { args: ["--namespace", "Kube_Certs"], status: 2, message: /is not a Kubernetes namespace name/ },
  { args: ["--image", ""], status: 2, message: /is not an image reference/ },
  { args: ["--host-root", "/host"], status: 2, message: /renew-certs deploy does not take --host-root/ },
  { args: ["install-host", "--image", "x"], status: 2, message: /install-host does not take --image/ },
];

for (const b of BAD) {
  test(`deploy ${b.args.join(" ")} fails with exit ${b.status} and one clear error, printing no manifest`, () => {
    const r = cli(["deploy", ...b.args]);
    assert.equal(r.status, b.status, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, b.message);
  });
}
