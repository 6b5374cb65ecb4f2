import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDocument } from "yaml";
import { parseKubeconfigDocument, parseKubeconfig, withRenewedCredentials } from "./kubeconfig.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");
const LONG = b64("-----BEGIN CERTIFICATE-----\n" + "A".repeat(200) + "\n-----END CERTIFICATE-----\n");
const TEXT = `# written by kubeadm
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${LONG}
    server: https://10.0.0.1:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
users:
- name: kubernetes-admin
  user:
    client-certificate-data: ${LONG}
    client-key-data: "${b64("short")}"
    token: ${"x".repeat(70)}
`;

test("setting long base64 lines aside before parsing gives the same document as parsing it whole", async () => {
  const doc = await parseKubeconfigDocument(TEXT);
  assert.deepEqual(doc.toJS(), parseDocument(TEXT).toJS());
  assert.equal(doc.toString({ lineWidth: 0, indentSeq: false }), parseDocument(TEXT).toString({ lineWidth: 0, indentSeq: false }));
});

test("a YAML error is still reported on its own line", async () => {
  const broken = TEXT.replace("kind: Config", "kind: [Config");
  await assert.rejects(parseKubeconfig(broken, "/x/admin.conf"), /kubeconfig \/x\/admin\.conf is not valid YAML \(line 1[45]\)/);
});

test("renewed credentials replace only the current user's data and keep the rest, comments included", async () => {
  const kc = await parseKubeconfig(TEXT, "/x/admin.conf");
  const out = await withRenewedCredentials(kc, "CERT\n", "KEY\n", "CA\n");
  assert.match(out, /^# written by kubeadm\n/);
  assert.match(out, new RegExp(`client-certificate-data: ${b64("CERT\n")}\n`));
  assert.match(out, new RegExp(`certificate-authority-data: ${b64("CA\n")}\n`));
  assert.match(out, /token: x{70}\n/);
  assert.match(out, /server: https:\/\/10\.0\.0\.1:6443\n/);
});

test("a kubeconfig as kubeadm writes it gets its three base64 values replaced in place, every other byte kept", async () => {
  const plain = TEXT.replace("# written by kubeadm\n", "").replace(/client-key-data: .*\n/, `client-key-data: ${b64("old key")}\n`).replace(/token: .*\n/, "");
  const kc = await parseKubeconfig(plain, "/x/admin.conf");
  const out = await withRenewedCredentials(kc, "CERT\n", "KEY\n", "CA\n");
  const before = plain.split("\n");
  const after = out.split("\n");
  assert.equal(after.length, before.length);
  const changed = after.map((l, i) => (l === before[i] ? undefined : l)).filter((l) => l !== undefined);
  assert.deepEqual(changed, [`    certificate-authority-data: ${b64("CA\n")}`, `    client-certificate-data: ${b64("CERT\n")}`, `    client-key-data: ${b64("KEY\n")}`]);
  const again = await parseKubeconfig(out, "/x/admin.conf");
  assert.equal(again.caPem, "CA\n");
  assert.equal(again.clientCertificate?.kind === "data" && again.clientCertificate.pem, "CERT\n");
  assert.equal(again.clientKey?.kind === "data" && again.clientKey.pem, "KEY\n");
});

test("a kubeconfig without the key to set is edited by the yaml library, which adds it", async () => {
  const noCa = TEXT.replace("# written by kubeadm\n", "").replace(/client-key-data: .*\n/, "").replace(/token: .*\n/, "");
  const kc = await parseKubeconfig(noCa, "/x/admin.conf");
  assert.equal(kc.clientKey, undefined);
  const out = await withRenewedCredentials(kc, "CERT\n", "KEY\n", "CA\n");
  assert.match(out, new RegExp(`client-key-data: ${b64("KEY\n")}\n`));
  assert.equal(parseDocument(out).errors.length, 0);
});
