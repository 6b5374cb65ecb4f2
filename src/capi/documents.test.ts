import { test } from "node:test";
import assert from "node:assert/strict";
import { RenewCertsError } from "../errors.js";
import { patchDocuments } from "./patch.js";

const on = { intervalDays: 60, agent: { kind: "preinstalled" }, source: "cluster.yaml" } as const;

/** Bad input: one clear line, naming the input and the document. */
const bad: { name: string; text: string; expect: RegExp }[] = [
  { name: "YAML that does not parse", text: `kind: ConfigMap\n---\nkind: KubeadmControlPlane\nspec:\n  files: [a\n  b: c\n`, expect: /^cluster\.yaml: document 2 is not valid YAML \(line \d, column \d+\): .+; fix the YAML and run again$/ },
  { name: "a control plane without spec", text: `apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata:\n  name: cp\n  namespace: ns\n`, expect: /^cluster\.yaml: document 1 \(KubeadmControlPlane ns\/cp\) has no spec mapping: a KubeadmControlPlane needs spec\.kubeadmConfigSpec; fix the manifest and run again$/ },
  { name: "a template without spec.template.spec", text: `apiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: KubeadmControlPlaneTemplate\nmetadata:\n  name: t\nspec:\n  template: {}\n`, expect: /document 1 \(KubeadmControlPlaneTemplate t\) has no spec\.template\.spec mapping/ },
  { name: "an apiVersion capi patch does not know", text: `apiVersion: controlplane.cluster.x-k8s.io/v1alpha4\nkind: KubeadmControlPlane\nmetadata:\n  name: cp\nspec: {}\n`, expect: /has apiVersion controlplane\.cluster\.x-k8s\.io\/v1alpha4: capi patch supports .*v1beta1 and .*v1beta2/ },
  { name: "files that is not a list", text: `apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata:\n  name: cp\nspec:\n  kubeadmConfigSpec:\n    files: /etc/x\n`, expect: /^cluster\.yaml: document 1 \(KubeadmControlPlane cp\): spec\.kubeadmConfigSpec\.files is not a list: fix the manifest and run again$/ },
];

for (const b of bad) {
  test(`capi patch refuses ${b.name} with one clear line`, () => {
    assert.throws(() => patchDocuments(b.text, on), (e: unknown) => {
      assert.ok(e instanceof RenewCertsError);
      assert.equal(e.message.split("\n").length, 1);
      assert.match(e.message, b.expect);
      return true;
    });
  });
}

test("a document that is not a mapping, or a kind of another group, is not a control plane", () => {
  const text = "- a list\n---\njust text\n---\napiVersion: controlplane.example.com/v1\nkind: KubeadmControlPlane\n";
  assert.deepEqual(patchDocuments(text, on), { output: text, warnings: [], controlPlanes: [] });
});
