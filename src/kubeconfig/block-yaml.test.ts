import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseDocument, stringify } from "yaml";
import { readPlainBlockYaml } from "./block-yaml.js";
import { sharedSandbox } from "../../test/support/sandbox.js";

const KUBECONFIGS = ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"];

/** The reader either declines `text` or reads exactly what the yaml library reads, without errors. */
function agrees(text: string): "declined" | "read" {
  const mine = readPlainBlockYaml(text);
  if (mine === undefined) return "declined";
  const doc = parseDocument(text);
  assert.deepEqual(doc.errors, [], `accepted text the yaml library rejects:\n${text}`);
  assert.deepEqual(mine, doc.toJS(), `read differently from the yaml library:\n${text}`);
  return "read";
}

test("every sandbox kubeconfig is read without the yaml library, exactly as the library reads it", async () => {
  for (const keySpec of [{ type: "rsa", bits: 2048 }, { type: "ec", curve: "P-256" }] as const) {
    const root = await sharedSandbox({ keySpec, ageDays: 300 });
    for (const name of KUBECONFIGS) {
      assert.equal(agrees(await readFile(join(root, "etc/kubernetes", name), "utf8")), "read", name);
    }
  }
});

test("kubeconfigs as kubectl and client-go lay them out are read (indented or flush sequences, {} and [])", () => {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [{ name: "kubernetes", cluster: { server: "https://10.0.0.1:6443", "certificate-authority-data": "LS0tLS1CRUdJTg==", extensions: [{ name: "client.authentication.k8s.io/exec", extension: { audience: "x" } }] } }],
    contexts: [{ name: "kubernetes-admin@kubernetes", context: { cluster: "kubernetes", user: "kubernetes-admin", namespace: "kube-system" } }],
    "current-context": "kubernetes-admin@kubernetes",
    users: [
      { name: "kubernetes-admin", user: { "client-certificate": "/etc/kubernetes/pki/admin.crt", "client-key": "pki/admin.key" } },
      { name: "exec-user", user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws", args: ["eks", "get-token"], env: [] } } },
    ],
  };
  assert.equal(agrees(stringify(config, { indentSeq: false })), "read");
  assert.equal(agrees(stringify(config)), "read");
  assert.equal(agrees(stringify(config, { indent: 4 })), "read");
});

test("anything beyond the subset is declined or read exactly as the yaml library reads it", () => {
  const cases = [
    "", "# only a comment\n", "---\na: b\n", "a: b\n...\n", "a: b # comment\n", "# head\na: b\n", "a: 'quoted'\n", 'a: "quoted"\n',
    "a: true\n", "a: True\n", "a: null\n", "a: ~\n", "a: 123\n", "a: 1.5\n", "a: .inf\n", "a: -foo\n", "a:\n", "a:\nb: c\n",
    "a: &x b\nc: *x\n", "a: !!str b\n", "a: {b: c}\n", "a: [b, c]\n", "a: |\n  text\n", "a: >\n  text\n",
    "a: b\n  c\n", "a: b c\n", "a: b: c\n", "a: b\na: c\n", "? a\n: b\n", "a:\n\t- b\n", "a: b\r\nc: d\r\n", "\uFEFFa: b\n",
    "- a\n- b\n", "a:\n- b\n- c\n", "a:\n  - b\n  -  c\n", "a:\n- - b\n", "a:\n-\n  b: c\n", "1: a\n", "true: a\n", "<<: a\n",
    "a:\n    b: c\n  d: e\n", "a:\n  b: c\n    d: e\n", "a: b:c\n", "a: b#c\n", "a: b\n\n\nc: d\n", "a:  spaced\n", "a: b  \n",
    "__proto__: x\n", "a:\n  - b: c\n    d: e\n  - f\n", "a: x:\n", "a: https://h:6443/p?q=1&r=2\n", "a: {}\nb: []\n", "a: /x/y\n",
    "a: _x\n", "a: b\n c: d\n", " a: b\n", "a: [] \n", "a:\n  - {}\n  - []\n", "a: %x\n", "a: @x\n", "a: `x\n",
  ];
  let read = 0;
  for (const text of cases) if (agrees(text) === "read") read++;
  assert.ok(read > 10, `the subset covers the plain cases (read ${read})`);
});

test("random edits of a kubeconfig are declined or read exactly as the yaml library reads them", async () => {
  const base = await readFile(join(await sharedSandbox({ keySpec: { type: "ec", curve: "P-256" }, ageDays: 300 }), "etc/kubernetes/admin.conf"), "utf8");
  const alphabet = [" ", "  ", "\n", ":", ": ", "- ", "#", "'", '"', "{", "}", "[", "]", "&", "*", "!", "|", ">", "a", "1", "~", "\t", "---", "true", "-"];
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const counts = { declined: 0, read: 0 };
  for (let i = 0; i < 3000; i++) {
    let text = base;
    for (let k = 0, edits = 1 + rnd(3); k < edits; k++) {
      const at = rnd(text.length);
      const op = rnd(3);
      if (op === 0) text = text.slice(0, at) + alphabet[rnd(alphabet.length)] + text.slice(at);
      else if (op === 1) text = text.slice(0, at) + text.slice(at + 1 + rnd(4));
      else {
        const lines = text.split("\n");
        const l = rnd(lines.length);
        lines.splice(rnd(lines.length), 0, lines[l]!);
        text = lines.join("\n");
      }
    }
    counts[agrees(text)]++;
  }
  assert.ok(counts.read > 100 && counts.declined > 100, `both outcomes exercised: ${JSON.stringify(counts)}`);
});
