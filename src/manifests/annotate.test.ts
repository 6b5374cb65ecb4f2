import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { watch } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parse } from "yaml";
import { annotateManifest, restartStamp, setAnnotation } from "./annotate.js";
import { tempNameFor } from "../util/atomic.js";
import { RenewCertsError } from "../errors.js";

const KEY = "konvoy.d2iq.io/restartedAt";
const STAMP = "1764300000.123456";

/** The lines that differ between two texts: what was removed and what was added, in one block. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split("\n");
  const b = after.split("\n");
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return { removed: a.slice(head, a.length - tail), added: b.slice(head, b.length - tail) };
}

const ODD = `# A hand-edited manifest: comments, odd quoting and a four-space indent.
apiVersion: "v1"
kind: 'Pod'
metadata:   # the pod's identity
    # the name is what the kubelet mirrors
    name: 'kube-scheduler'
    namespace: "kube-system"
    labels: {component: kube-scheduler, tier: "control-plane"}
spec:
    containers:
    -   command: ["kube-scheduler", '--secure-port=10259', --bind-address=127.0.0.1]
        image: registry.k8s.io/kube-scheduler:v1.31.4   # pinned
        name: kube-scheduler
    hostNetwork: true
status: {}
`;

const KUBEADM = `apiVersion: v1
kind: Pod
metadata:
  annotations:
    # Written by kubeadm.
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 10.0.0.1:6443
  creationTimestamp: null
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=10.0.0.1
    image: registry.k8s.io/kube-apiserver:v1.31.4
    name: kube-apiserver
status: {}
`;

test("setting the annotation in kubeadm's manifest adds exactly one line to the annotations", () => {
  const out = setAnnotation(KUBEADM, KEY, STAMP, "kube-apiserver.yaml");
  assert.deepEqual(lineDiff(KUBEADM, out), { removed: [], added: [`    ${KEY}: "${STAMP}"`] });
});

test("setting the annotation again changes only that line", () => {
  const once = setAnnotation(KUBEADM, KEY, STAMP, "m.yaml");
  const twice = setAnnotation(once, KEY, "1764400000.000001", "m.yaml");
  assert.deepEqual(lineDiff(once, twice), { removed: [`    ${KEY}: "${STAMP}"`], added: [`    ${KEY}: "1764400000.000001"`] });
});

test("a manifest without annotations gets an annotations block right under metadata, in its own indentation, and nothing else changes", () => {
  const out = setAnnotation(ODD, KEY, STAMP, "odd.yaml");
  assert.deepEqual(lineDiff(ODD, out), { removed: [], added: ["    annotations:", `        ${KEY}: "${STAMP}"`] });
  const pod = parse(out) as { metadata: { name: string; annotations: Record<string, string> } };
  assert.equal(pod.metadata.name, "kube-scheduler");
  assert.deepEqual(pod.metadata.annotations, { [KEY]: STAMP });
});

test("empty annotations (nothing, null or {}) become a block with the one annotation", () => {
  for (const empty of ["", " null", " {}", " ~"]) {
    const text = KUBEADM.replace(/ {2}annotations:\n(.*\n){2}/, `  annotations:${empty}\n`);
    const out = setAnnotation(text, KEY, STAMP, "m.yaml");
    const expected = empty === "" ? { removed: [], added: [`    ${KEY}: "${STAMP}"`] } : { removed: [`  annotations:${empty}`], added: ["  annotations:", `    ${KEY}: "${STAMP}"`] };
    assert.deepEqual(lineDiff(text, out), expected, `annotations:${empty}`);
  }
});

test("flow-style annotations get the annotation inside the braces", () => {
  const text = KUBEADM.replace(/ {2}annotations:\n(.*\n){2}/, "  annotations: {a: 'b'}   # kept\n");
  const out = setAnnotation(text, KEY, STAMP, "m.yaml");
  assert.deepEqual(lineDiff(text, out).added, [`  annotations: {a: 'b', "${KEY}": "${STAMP}"}   # kept`]);
});

test("a JSON manifest stays valid JSON", () => {
  const json = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "kube-scheduler", annotations: { a: "b" } }, spec: { containers: [{ name: "s" }] } }, null, 2) + "\n";
  const out = setAnnotation(json, KEY, STAMP, "kube-scheduler.json");
  assert.equal((JSON.parse(out) as { metadata: { annotations: Record<string, string> } }).metadata.annotations[KEY], STAMP);
  const bare = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "x" }, spec: { containers: [{ name: "s" }] } });
  assert.equal((JSON.parse(setAnnotation(bare, KEY, STAMP, "x.json")) as { metadata: { annotations: Record<string, string> } }).metadata.annotations[KEY], STAMP);
});

test("CRLF line endings are kept", () => {
  const crlf = ODD.replace(/\n/g, "\r\n");
  const out = setAnnotation(crlf, KEY, STAMP, "odd.yaml");
  assert.ok(!/[^\r]\n/.test(out), "every line ends in CRLF");
  assert.equal(out.replace(/\r\n/g, "\n"), setAnnotation(ODD, KEY, STAMP, "odd.yaml"));
});

test("an existing annotation with an unusual value (empty, block scalar) is replaced on its line", () => {
  const empty = KUBEADM.replace("    # Written by kubeadm.\n", `    ${KEY}:\n`);
  assert.deepEqual(lineDiff(empty, setAnnotation(empty, KEY, STAMP, "m.yaml")), { removed: [`    ${KEY}:`], added: [`    ${KEY}: "${STAMP}"`] });
  const block = KUBEADM.replace("    # Written by kubeadm.\n", `    ${KEY}: |\n      old\n`);
  assert.deepEqual(lineDiff(block, setAnnotation(block, KEY, STAMP, "m.yaml")), { removed: [`    ${KEY}: |`, "      old"], added: [`    ${KEY}: "${STAMP}"`] });
});

test("a manifest without a final newline gets the annotation on a line of its own", () => {
  const text = "apiVersion: v1\nkind: Pod\nspec:\n  containers: []\nmetadata:\n  name: x\n  annotations:\n    a: b";
  const out = setAnnotation(text, KEY, STAMP, "m.yaml");
  assert.equal(out, `${text}\n    ${KEY}: "${STAMP}"\n`);
});

test("an unparseable manifest is a MANIFEST error naming the file", () => {
  const cases: [string, RegExp][] = [
    ["metadata: [unclosed\n", /not valid YAML \(line \d+\)/],
    ["- a list\n", /is not a pod/],
    ["kind: Pod\nspec: {}\n", /has no metadata/],
    ["metadata:\n  labels: {}\n", /has no metadata.name/],
    ["metadata:\n  name: x\n  annotations: [a]\n", /annotations that is not a mapping/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => setAnnotation(text, KEY, STAMP, "/etc/kubernetes/manifests/kube-apiserver.yaml"), (e: unknown) => {
      assert.ok(e instanceof RenewCertsError);
      assert.equal(e.code, "MANIFEST");
      assert.equal(e.file, "/etc/kubernetes/manifests/kube-apiserver.yaml");
      assert.match(e.message, /kube-apiserver\.yaml/);
      assert.match(e.message, why);
      return true;
    });
  }
});

test("an annotation key that Kubernetes would reject is a CONFIG error", () => {
  for (const bad of ["", "has space", "a/b/c", "-lead", `x/${"n".repeat(64)}`, "UPPER.example/x"]) {
    assert.throws(() => setAnnotation(KUBEADM, bad, STAMP, "m.yaml"), (e: unknown) => e instanceof RenewCertsError && e.code === "CONFIG", bad);
  }
});

test("the restart stamp is unix seconds with a six-digit fraction", () => {
  assert.equal(restartStamp(new Date(1764300000123)), "1764300000.123000");
  assert.equal(restartStamp(1764300000123.456), "1764300000.123456");
  assert.equal(restartStamp(new Date(1764300000000)), "1764300000.000000");
});

test("annotating a manifest on disk never shows the kubelet a non-hidden extra file, and keeps its mode", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-manifests-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "kube-scheduler.yaml");
  await writeFile(file, ODD, { mode: 0o600 });
  assert.ok(basename(tempNameFor(file)).startsWith("."), "the temporary file is a dot-file");
  const seen = new Set<string>();
  const w = watch(dir, (_event, name) => { if (name) seen.add(name.toString()); });
  t.after(() => w.close());
  await annotateManifest(file, KEY, STAMP);
  // Until the watcher has delivered the rename onto the manifest: every event of the write comes before it.
  for (const deadline = Date.now() + 30_000; !seen.has("kube-scheduler.yaml");) {
    if (Date.now() > deadline) assert.fail("the watcher never saw the write");
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual([...seen].filter((n) => !n.startsWith(".") && n !== "kube-scheduler.yaml"), []);
  assert.deepEqual(await readdir(dir), ["kube-scheduler.yaml"]);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(await readFile(file, "utf8"), setAnnotation(ODD, KEY, STAMP, file));
});

test("annotating an unparseable manifest leaves it byte-identical", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-manifests-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "kube-apiserver.yaml");
  await writeFile(file, "metadata: [unclosed\n", { mode: 0o600 });
  await assert.rejects(annotateManifest(file, KEY, STAMP), (e: unknown) => e instanceof RenewCertsError && e.code === "MANIFEST" && e.message.includes(file));
  assert.equal(await readFile(file, "utf8"), "metadata: [unclosed\n");
  assert.deepEqual(await readdir(dir), ["kube-apiserver.yaml"]);
});
