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

test("setting long base64 lines aside before parsing gives the same document as parsing it whole", () => {
  assert.deepEqual(parseKubeconfigDocument(TEXT).toJS(), parseDocument(TEXT).toJS());
  assert.equal(parseKubeconfigDocument(TEXT).toString({ lineWidth: 0, indentSeq: false }), parseDocument(TEXT).toString({ lineWidth: 0, indentSeq: false }));
});

test("a YAML error is still reported on its own line", () => {
  const broken = TEXT.replace("kind: Config", "kind: [Config");
  assert.throws(() => parseKubeconfig(broken, "/x/admin.conf"), /kubeconfig \/x\/admin\.conf is not valid YAML \(line 1[45]\)/);
});

test("renewed credentials replace only the current user's data and keep the rest, comments included", () => {
  const kc = parseKubeconfig(TEXT, "/x/admin.conf");
  const out = withRenewedCredentials(kc, "CERT\n", "KEY\n", "CA\n");
  assert.match(out, /^# written by kubeadm\n/);
  assert.match(out, new RegExp(`client-certificate-data: ${b64("CERT\n")}\n`));
  assert.match(out, new RegExp(`certificate-authority-data: ${b64("CA\n")}\n`));
  assert.match(out, /token: x{70}\n/);
  assert.match(out, /server: https:\/\/10\.0\.0\.1:6443\n/);
});
