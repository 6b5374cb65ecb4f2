import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CST, Parser, parseAllDocuments } from "yaml";
import { capiFixtures, crdValidators, SAMPLES } from "../../test/support/capi.js";
import { hostFiles } from "../host/files.js";
import { settingsFor } from "./options.js";
import { patchDocuments } from "./patch.js";

const CRDS = ["controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml", "controlplane.cluster.x-k8s.io_kubeadmcontrolplanetemplates.yaml"];
const CONTROL_PLANE = /^kind: KubeadmControlPlane(Template)?$/m;
const preinstalled = { kind: "preinstalled" } as const;
const download = { kind: "url", url: "https://example.com/renew-certs/v1/renew-certs-linux-amd64", sha256: "ab".repeat(32) } as const;

/** The exact source text of each document of a stream. */
function documentTexts(text: string): string[] {
  return [...new Parser().parse(text)].filter((t) => t.type === "document").map((t) => CST.stringify(t));
}

/** True when every line of `before` appears in `after`, in order: the edit only added lines. */
function onlyAddsLines(before: string, after: string): boolean {
  const a = after.split("\n");
  let j = 0;
  for (const line of before.split("\n")) {
    while (j < a.length && a[j] !== line) j++;
    if (j++ >= a.length) return false;
  }
  return true;
}

for (const sample of SAMPLES) {
  const version = sample.split("/")[0]!;

  test(`the patched ${sample} validates against the ${version} schema of Cluster API's CRDs, for both agent modes`, (t) => {
    const dir = capiFixtures(t);
    if (!dir) return;
    const validators = crdValidators(join(dir, "crds"), CRDS);
    const original = readFileSync(join(dir, sample), "utf8");
    for (const agent of [preinstalled, download]) {
      const { output } = patchDocuments(original, { intervalDays: 60, agent });
      let checked = 0;
      for (const doc of parseAllDocuments(output) as ReturnType<typeof parseAllDocuments> & unknown[]) {
        const data = doc.toJS() as { kind?: string; apiVersion?: string };
        const validate = validators.get(`${data.kind}/${String(data.apiVersion).split("/")[1]}`);
        if (!validate || !String(data.apiVersion).startsWith("controlplane.cluster.x-k8s.io/")) continue;
        assert.equal(String(data.apiVersion).split("/")[1], version);
        assert.ok(validate(data), `${data.kind}: ${JSON.stringify(validate.errors, null, 1)}`);
        checked++;
      }
      assert.equal(checked, 1, "each sample holds one control plane");
    }
  });

  test(`patching ${sample} leaves every other document byte-identical and only adds lines to the control plane`, (t) => {
    const dir = capiFixtures(t);
    if (!dir) return;
    const original = readFileSync(join(dir, sample), "utf8");
    const { output, controlPlanes } = patchDocuments(original, { intervalDays: 60, agent: download });
    assert.equal(controlPlanes.length, 1);
    assert.ok(controlPlanes[0]!.changed);
    const before = documentTexts(original);
    const after = documentTexts(output);
    assert.equal(after.length, before.length);
    before.forEach((doc, i) => {
      if (CONTROL_PLANE.test(doc)) {
        assert.notEqual(after[i], doc);
        assert.ok(onlyAddsLines(doc, after[i]!), `document ${i + 1} lost or changed a line`);
      } else {
        assert.equal(after[i], doc, `document ${i + 1} changed`);
      }
    });
    assert.equal(output.startsWith(original.slice(0, original.indexOf("\n"))), true, "the leading comment or separator is kept");
  });

  test(`patching ${sample} twice gives byte-identical output, and interval 0 gives back the original bytes`, (t) => {
    const dir = capiFixtures(t);
    if (!dir) return;
    const original = readFileSync(join(dir, sample), "utf8");
    const once = patchDocuments(original, { intervalDays: 60, agent: preinstalled }).output;
    assert.equal(patchDocuments(once, { intervalDays: 60, agent: preinstalled }).output, once);
    const other = patchDocuments(once, { intervalDays: 30, agent: download, schedule: "*-*-* 03:00:00" }).output;
    assert.equal(other, patchDocuments(original, { intervalDays: 30, agent: download, schedule: "*-*-* 03:00:00" }).output, "a second patch replaces the first");
    assert.equal(patchDocuments(other, { intervalDays: 0, agent: preinstalled }).output, original);
  });

  test(`the files in the patched ${sample} are byte-identical to what install writes for the same settings`, (t) => {
    const dir = capiFixtures(t);
    if (!dir) return;
    const options = { intervalDays: 45, agent: preinstalled, schedule: "weekly" };
    const { output } = patchDocuments(readFileSync(join(dir, sample), "utf8"), options);
    type Spec = { files: { path: string; content: string; permissions: string; owner: string }[] };
    type ControlPlane = { kind: string; spec: { kubeadmConfigSpec: Spec; template: { spec: { kubeadmConfigSpec: Spec } } } };
    const cp = (parseAllDocuments(output) as unknown as { toJS(): ControlPlane | null }[]).map((d) => d.toJS()).find((d) => d?.kind.startsWith("KubeadmControlPlane"))!;
    const spec = cp.kind === "KubeadmControlPlane" ? cp.spec.kubeadmConfigSpec : cp.spec.template.spec.kubeadmConfigSpec;
    const expected = hostFiles(settingsFor(options));
    const shipped = spec.files.filter((f) => expected.some((e) => e.path === f.path));
    assert.deepEqual(shipped.map((f) => f.path), expected.map((e) => e.path));
    for (const e of expected) {
      const f = shipped.find((s) => s.path === e.path)!;
      assert.equal(f.content, e.content, e.path);
      assert.equal(f.permissions, `0${e.mode.toString(8)}`);
      assert.equal(f.owner, "root:root");
    }
  });
}

test("the schema check rejects what the API server would: a files entry in the wrong place, permissions as a number", (t) => {
  const dir = capiFixtures(t);
  if (!dir) return;
  const validators = crdValidators(join(dir, "crds"), CRDS);
  const base = { apiVersion: "controlplane.cluster.x-k8s.io/v1beta2", kind: "KubeadmControlPlane", metadata: { name: "cp" }, spec: { version: "v1.32.0", machineTemplate: { spec: { infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "DockerMachineTemplate", name: "cp" } } }, kubeadmConfigSpec: { format: "cloud-config" } as Record<string, unknown> } };
  const validate = validators.get("KubeadmControlPlane/v1beta2")!;
  assert.ok(validate(base), JSON.stringify(validate.errors));
  assert.equal(validate({ ...base, spec: { ...base.spec, files: [{ path: "/x", content: "y" }] } }), false, "files belongs under kubeadmConfigSpec");
  assert.equal(validate({ ...base, spec: { ...base.spec, kubeadmConfigSpec: { files: [{ path: "/x", content: "y", permissions: 420 }] } } }), false);
  assert.equal(validate({ ...base, spec: { ...base.spec, kubeadmConfigSpec: { postKubeadmCommands: [] } } }), false, "v1beta2 lists have minItems 1");
});
