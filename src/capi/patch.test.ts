import { test } from "node:test";
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { hostFiles } from "../host/files.js";
import { COMMAND_MARKER, enableCommand } from "./bootstrap.js";
import { settingsFor, type PatchOptions } from "./options.js";
import { patchDocuments } from "./patch.js";

const on = (intervalDays = 60, extra: Partial<PatchOptions> = {}): PatchOptions => ({ intervalDays, agent: { kind: "preinstalled" }, ...extra });
const off: PatchOptions = on(0);

type Spec = { files?: { path: string; content?: string }[]; preKubeadmCommands?: string[]; postKubeadmCommands?: string[]; [k: string]: unknown };
/** The kubeadmConfigSpec of the `n`th document (0-based) of a stream. */
function specOf(text: string, n = 0): Spec {
  const d = (parseAllDocuments(text) as unknown as { toJS(): Record<string, Record<string, unknown>> }[])[n]!.toJS();
  const spec = d["kind"] === ("KubeadmControlPlaneTemplate" as unknown) ? (d["spec"]!["template"] as { spec: Record<string, unknown> }).spec : d["spec"]!;
  return spec["kubeadmConfigSpec"] as Spec;
}

const KCP = `# the control plane
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata:
  name: cp   # short name
  namespace: prod
spec:
  replicas: 3
  version: v1.32.0
  kubeadmConfigSpec:
    clusterConfiguration:
      apiServer:
        certSANs: [localhost, "127.0.0.1"]
    files:
      - path: /etc/site.conf      # the user's own file
        content: 'a: b'
    preKubeadmCommands:
      - echo before
    postKubeadmCommands:
      - echo after
  machineTemplate:
    spec:
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DockerMachineTemplate, name: cp}
`;

test("a control plane gets the three files, the agent check before kubeadm and the timer after it, after the user's own entries", () => {
  const spec = specOf(patchDocuments(KCP, on()).output);
  assert.deepEqual(spec.files!.map((f) => f.path), ["/etc/site.conf", ...hostFiles().map((f) => f.path)]);
  assert.equal(spec.preKubeadmCommands!.length, 2);
  assert.equal(spec.preKubeadmCommands![0], "echo before");
  assert.match(spec.preKubeadmCommands![1]!, /^\/usr\/local\/bin\/renew-certs --version .*exit 1; } # renew-certs capi patch$/);
  assert.deepEqual(spec.postKubeadmCommands, ["echo after", enableCommand()]);
  assert.equal(enableCommand(), `systemctl daemon-reload && systemctl enable --now renew-certs.timer ${COMMAND_MARKER}`);
});

test("patching only adds lines: comments, flow lists, quoting and the order of fields stay as they were", () => {
  const { output } = patchDocuments(KCP, on());
  const added = output.split("\n");
  let j = 0;
  for (const line of KCP.split("\n")) {
    while (j < added.length && added[j] !== line) j++;
    assert.ok(j++ < added.length, `line lost: ${line}`);
  }
  // New entries follow the list's own indentation.
  assert.match(output, /\n {6}- path: \/etc\/renew-certs\/config.yaml\n {8}owner: root:root\n {8}permissions: "0644"\n {8}content: \|\n/);
});

test("patching twice gives byte-identical output; interval 0 gives back the original bytes and keeps the user's entries", () => {
  const once = patchDocuments(KCP, on()).output;
  assert.equal(patchDocuments(once, on()).output, once);
  assert.equal(patchDocuments(once, off).output, KCP);
  assert.equal(patchDocuments(KCP, off).output, KCP, "nothing to remove, nothing changed");
});

test("a new interval, agent or schedule replaces the earlier entries instead of adding more", () => {
  const agent = { kind: "url", url: "https://example.com/renew-certs", sha256: "0".repeat(64) } as const;
  const first = patchDocuments(KCP, on(60)).output;
  const second = patchDocuments(first, on(30, { agent, schedule: "weekly" })).output;
  assert.equal(second, patchDocuments(KCP, on(30, { agent, schedule: "weekly" })).output);
  const spec = specOf(second);
  assert.equal(spec.preKubeadmCommands!.filter((c) => c.endsWith(COMMAND_MARKER)).length, 1);
  assert.match(spec.preKubeadmCommands![1]!, /curl .*'https:\/\/example.com\/renew-certs'/);
  assert.equal(spec.files!.find((f) => f.path.endsWith(".timer"))!.content, hostFiles(settingsFor(on(30, { schedule: "weekly" })))[2]!.content);
  assert.match(spec.files!.find((f) => f.path.endsWith("config.yaml"))!.content!, /^certificateRenewInterval: 30$/m);
});

test("documents that are not control planes pass through byte-identical, with their separators and comments", () => {
  const others = `%YAML 1.2
---
# a config map, oddly formatted
apiVersion: v1
kind: ConfigMap
metadata: {name: x,   namespace: "y"}
data:
    key:   'value'   # comment
...
---
# a kind of the same name in another API group is not a Cluster API control plane
apiVersion: example.com/v1
kind: KubeadmControlPlane
spec: {kubeadmConfigSpec: {}}
--- # an empty document

---
`;
  const alone = patchDocuments(others, on());
  assert.equal(alone.output, others);
  assert.deepEqual(alone.controlPlanes, []);
  const mixed = `${others}${KCP}`;
  const out = patchDocuments(mixed, on()).output;
  assert.ok(out.startsWith(others));
  assert.equal(patchDocuments(out, off).output, mixed);
});

test("entries appended to a list that ends the kubeadmConfigSpec stay in that list when new lists follow it", () => {
  const last = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata:\n  name: cp\nspec:\n  kubeadmConfigSpec:\n    preKubeadmCommands:\n    - echo site-setup\n`;
  const spec = specOf(patchDocuments(last, on()).output);
  assert.equal(spec.preKubeadmCommands!.length, 2);
  assert.equal(spec.files!.length, 3);
  assert.equal(spec.postKubeadmCommands!.length, 1);
});

test("a KubeadmControlPlaneTemplate gets the same entries under spec.template.spec.kubeadmConfigSpec", () => {
  const tpl = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlaneTemplate
metadata:
  name: t
spec:
  template:
    spec:
      kubeadmConfigSpec:
        clusterConfiguration: {}
`;
  const out = patchDocuments(tpl, on()).output;
  const spec = specOf(out);
  assert.equal(spec.files!.length, 3);
  assert.deepEqual(spec.postKubeadmCommands, [enableCommand()]);
  assert.equal(patchDocuments(out, off).output, tpl);
});

test("a control plane without kubeadmConfigSpec gets one, and interval 0 removes it again", () => {
  const bare = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata:
  name: cp
spec:
  version: v1.32.0
`;
  const out = patchDocuments(bare, on()).output;
  assert.equal(specOf(out).files!.length, 3);
  assert.ok(out.startsWith(bare));
  assert.equal(patchDocuments(out, on()).output, out);
  assert.equal(patchDocuments(out, off).output, bare);
});

test("flow-style and empty lists are rewritten as block lists, keeping their entries", () => {
  const flow = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata: {name: cp}
spec:
  kubeadmConfigSpec:
    files: []
    preKubeadmCommands: ["echo one", 'echo two']
    postKubeadmCommands:
  version: v1.32.0
`;
  const out = patchDocuments(flow, on()).output;
  const spec = specOf(out);
  assert.deepEqual(spec.preKubeadmCommands!.slice(0, 2), ["echo one", "echo two"]);
  assert.equal(spec.files!.length, 3);
  assert.deepEqual(spec.postKubeadmCommands, [enableCommand()]);
  assert.match(out, /\n {2}version: v1.32.0\n$/, "the fields after it stay in place");
  assert.equal(patchDocuments(out, on()).output, out);
  const braces = flow.replace(/ {2}kubeadmConfigSpec:\n(?: {4}.*\n)+/, "  kubeadmConfigSpec: {}\n");
  const out2 = patchDocuments(braces, on()).output;
  assert.equal(specOf(out2).files!.length, 3);
  assert.equal(patchDocuments(out2, on()).output, out2);
});

test("a JSON document is patched and written back as JSON", () => {
  const json = JSON.stringify({ apiVersion: "controlplane.cluster.x-k8s.io/v1beta2", kind: "KubeadmControlPlane", metadata: { name: "cp" }, spec: { version: "v1.32.0", kubeadmConfigSpec: { files: [{ path: "/a", content: "b" }] } } }, null, 2) + "\n";
  const { output, warnings } = patchDocuments(json, on());
  const data = JSON.parse(output) as { spec: { kubeadmConfigSpec: Spec } };
  assert.deepEqual(data.spec.kubeadmConfigSpec.files!.map((f) => f.path), ["/a", ...hostFiles().map((f) => f.path)]);
  assert.deepEqual(warnings, []);
  assert.equal(patchDocuments(output, on()).output, output);
  assert.deepEqual(JSON.parse(patchDocuments(output, off).output), JSON.parse(json));
});

test("a layout that cannot be edited line by line (aliases, an entry below its dash) is written again as JSON, with a warning", () => {
  const aliased = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata:\n  name: cp\n  annotations:\n    cmds: &cmds [echo shared]\nspec:\n  kubeadmConfigSpec:\n    preKubeadmCommands: *cmds\n`;
  const r = patchDocuments(aliased, on());
  assert.match(r.warnings.join("\n"), /^document 1 \(KubeadmControlPlane cp\): its layout cannot be edited line by line, so it was written again as JSON; comments inside it are lost$/);
  const spec = specOf(r.output);
  assert.equal(spec.preKubeadmCommands![0], "echo shared", "the aliased entry is kept");
  assert.equal(spec.preKubeadmCommands!.length, 2);
  assert.equal(patchDocuments(r.output, on()).output, r.output);
  const below = patchDocuments(KCP, on()).output.replace(/\n {6}- "systemctl daemon-reload/, "\n      -\n        \"systemctl daemon-reload");
  assert.equal(specOf(below).postKubeadmCommands!.length, 2, "the odd layout parses");
  const unpatched = patchDocuments(below, off);
  assert.equal(unpatched.warnings.length, 1);
  assert.deepEqual(specOf(unpatched.output), specOf(KCP));
});

test("a format: ignition control plane gets the same entries, which Cluster API writes through Ignition", () => {
  const ign = KCP.replace("    clusterConfiguration:", "    format: ignition\n    ignition:\n      containerLinuxConfig:\n        additionalConfig: |\n          systemd:\n            units: []\n    clusterConfiguration:");
  const { output, warnings } = patchDocuments(ign, on());
  assert.deepEqual(warnings, []);
  const spec = specOf(output);
  assert.equal(spec["format"], "ignition");
  assert.equal(spec.files!.length, 4);
  assert.deepEqual(spec.postKubeadmCommands, ["echo after", enableCommand()]);
  assert.equal((spec["ignition"] as { containerLinuxConfig: { additionalConfig: string } }).containerLinuxConfig.additionalConfig, "systemd:\n  units: []\n", "the user's Ignition config is untouched");
});

test("rolloutBefore.certificatesExpiryDays (v1beta1) and rollout.before.certificatesExpiryDays (v1beta2) draw a warning", () => {
  const v1 = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: KubeadmControlPlane\nmetadata:\n  name: old\nspec:\n  rolloutBefore:\n    certificatesExpiryDays: 21\n  kubeadmConfigSpec:\n    format: cloud-config\n`;
  const v2 = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlaneTemplate\nmetadata:\n  name: new\nspec:\n  template:\n    spec:\n      rollout:\n        before:\n          certificatesExpiryDays: 30\n`;
  const { warnings } = patchDocuments(`${v1}---\n${v2}`, on());
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^document 1 \(KubeadmControlPlane old\) also sets spec\.rolloutBefore\.certificatesExpiryDays: 21: .*machine\.cluster\.x-k8s\.io\/certificates-expiry/);
  assert.match(warnings[1]!, /^document 2 \(KubeadmControlPlaneTemplate new\) also sets spec\.template\.spec\.rollout\.before\.certificatesExpiryDays: 30/);
  assert.deepEqual(patchDocuments(`${v1}---\n${v2}`, off).warnings, [], "no warning when removing");
});

test("a ClusterClass patch that replaces the template's whole files list draws a warning; appending does not", () => {
  const cc = (path: string): string => `apiVersion: cluster.x-k8s.io/v1beta2
kind: ClusterClass
metadata:
  name: quick
spec:
  patches:
  - name: pss
    definitions:
    - selector:
        apiVersion: controlplane.cluster.x-k8s.io/v1beta2
        kind: KubeadmControlPlaneTemplate
      jsonPatches:
      - op: add
        path: ${path}
        value: []
`;
  const [w] = patchDocuments(cc("/spec/template/spec/kubeadmConfigSpec/files"), on()).warnings;
  assert.match(w ?? "", /^document 1 \(ClusterClass quick\): patch "pss" does "add" on \/spec\/template\/spec\/kubeadmConfigSpec\/files of the KubeadmControlPlaneTemplate, which replaces the whole list/);
  assert.deepEqual(patchDocuments(cc("/spec/template/spec/kubeadmConfigSpec/files/-"), on()).warnings.filter((x) => x.includes("ClusterClass")), []);
});

test("new lists follow the document's habit of indenting sequences under their key or not", () => {
  const flush = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata:\n  name: cp\nspec:\n  kubeadmConfigSpec:\n    users:\n    - name: a\n    - name: b\n`;
  assert.match(patchDocuments(flush, on()).output, /\n {4}files:\n {4}- path:/);
  const indented = flush.replace(/\n {4}- name/g, "\n      - name");
  assert.match(patchDocuments(indented, on()).output, /\n {4}files:\n {6}- path:/);
});

test("a stream without a final newline and an empty stream are handled", () => {
  const noNewline = KCP.trimEnd();
  const out = patchDocuments(noNewline, on()).output;
  assert.equal(specOf(out).files!.length, 4);
  assert.equal(patchDocuments(out, off).output.trimEnd(), noNewline);
  assert.deepEqual(patchDocuments("", on()), { output: "", warnings: [], controlPlanes: [] });
});

test("the added files parse back to exactly what install writes", () => {
  const spec = specOf(patchDocuments(KCP, on(90, { schedule: "Mon *-*-* 04:00:00" })).output);
  const expected = hostFiles(settingsFor(on(90, { schedule: "Mon *-*-* 04:00:00" })));
  assert.deepEqual(spec.files!.slice(1), expected.map((f) => ({ path: f.path, owner: "root:root", permissions: "0644", content: f.content })));
  assert.equal(parse(expected[0]!.content).certificateRenewInterval, 90);
});

test("every arrangement of the three lists (absent, present, first, last, indented or not) patches, re-patches and unpatches cleanly", () => {
  const userEntry: Record<string, string> = { files: "path: /etc/site.conf", preKubeadmCommands: "echo pre", postKubeadmCommands: "echo post" };
  const lists = Object.keys(userEntry);
  const orders = [[0, 1, 2], [2, 1, 0], [1, 2, 0]];
  let cases = 0;
  for (let mask = 0; mask < 8; mask++) {
    for (const order of orders) {
      for (const dash of ["", "  "]) {
        for (const other of ["before", "after"]) {
          const present = order.map((i) => lists[i]!).filter((_, i) => mask & (1 << i));
          const body = present.map((l) => `    ${l}:\n    ${dash}- ${userEntry[l]}\n`).join("");
          const extra = "    format: cloud-config\n";
          const text = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata:\n  name: cp\nspec:\n  kubeadmConfigSpec:\n${other === "before" ? extra + body : body + extra}  version: v1.32.0\n`;
          const out = patchDocuments(text, on()).output;
          const spec = specOf(out);
          for (const l of lists) {
            const items = spec[l] as unknown[];
            assert.equal(items.length, (present.includes(l) ? 1 : 0) + (l === "files" ? 3 : 1), `${l} in\n${out}`);
          }
          assert.equal(spec["format"], "cloud-config");
          assert.equal(patchDocuments(out, on()).output, out);
          assert.equal(patchDocuments(out, off).output, text);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 96);
});
