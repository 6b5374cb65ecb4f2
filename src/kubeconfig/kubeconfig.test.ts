import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDocument } from "yaml";
import { parseKubeconfig, withRenewedCredentials } from "./kubeconfig.js";

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

test("a YAML error is still reported on its own line", async () => {
  const broken = TEXT.replace("kind: Config", "kind: [Config");
  await assert.rejects(parseKubeconfig(broken, "/x/admin.conf"), /kubeconfig \/x\/admin\.conf is not valid YAML \(line 1[45]\)/);
});

/** The lines of `after` that differ from `before` (same number of lines expected). */
function changedLines(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  assert.equal(b.length, a.length, "no line added or removed");
  return b.filter((l, i) => l !== a[i]);
}

test("renewed credentials replace only the current user's data and keep every other byte, comments and quoting included", async () => {
  const kc = await parseKubeconfig(TEXT, "/x/admin.conf");
  const out = await withRenewedCredentials(kc, "CERT\n", "KEY\n", "CA\n");
  assert.deepEqual(changedLines(TEXT, out), [`    certificate-authority-data: ${b64("CA\n")}`, `    client-certificate-data: ${b64("CERT\n")}`, `    client-key-data: ${b64("KEY\n")}`]);
});

test("a kubeconfig in flow style, with CRLF line ends or an indented list keeps every byte but the new values", async () => {
  const flow = TEXT.replace(/client-certificate-data: (\S+)\n {4}client-key-data: (\S+)\n/, "{client-certificate-data: $1, client-key-data: $2}\n").replace("  user:\n    {", "  user: {").replace(/\n {4}token: .*\n/, "\n");
  const indented = TEXT.replace(/^(- | {2})/gm, "  $1");
  for (const text of [flow, TEXT.replace(/\n/g, "\r\n"), indented]) {
    const kc = await parseKubeconfig(text, "/x/admin.conf");
    const out = await withRenewedCredentials(kc, "CERT\n", "KEY\n", "CA\n");
    const strip = (t: string): string => t.replace(new RegExp(`${b64("CERT\n")}|${b64("KEY\n")}|${b64("CA\n")}|${LONG}|${b64("short")}`, "g"), "V").replace(/"V"/g, "V");
    assert.equal(strip(out), strip(text), "only the values differ");
    const again = await parseKubeconfig(out, "/x/admin.conf");
    assert.equal(again.clientKey?.kind === "data" && again.clientKey.pem, "KEY\n");
  }
});

test("a kubeconfig as kubeadm writes it gets its three base64 values replaced in place, every other byte kept", async () => {
  const plain = TEXT.replace("# written by kubeadm\n", "").replace(/client-key-data: .*\n/, `client-key-data: ${b64("old key")}\n`).replace(/token: .*\n/, "");
  const kc = await parseKubeconfig(plain, "/x/admin.conf");
  const out = await withRenewedCredentials(kc, "CERT\n", "KEY\n", "CA\n");
  assert.deepEqual(changedLines(plain, out), [`    certificate-authority-data: ${b64("CA\n")}`, `    client-certificate-data: ${b64("CERT\n")}`, `    client-key-data: ${b64("KEY\n")}`]);
  const again = await parseKubeconfig(out, "/x/admin.conf");
  assert.equal(again.caPem, "CA\n");
  assert.equal(again.clientCertificate?.kind === "data" && again.clientCertificate.pem, "CERT\n");
  assert.equal(again.clientKey?.kind === "data" && again.clientKey.pem, "KEY\n");
});

test("a kubeconfig without the key to set gets it as a line of the user's mapping, every other line kept", async () => {
  const noKey = TEXT.replace(/^ *client-key-data: .*\n/m, "");
  const kc = await parseKubeconfig(noKey, "/x/admin.conf");
  assert.equal(kc.clientKey, undefined);
  const out = await withRenewedCredentials(kc, "CERT\n", "KEY\n", "CA\n");
  assert.match(out, new RegExp(`    token: x{70}\n    client-key-data: ${b64("KEY\n")}\n$`));
  assert.equal(parseDocument(out).errors.length, 0);
  assert.equal(out.replace(/.*client-key-data.*\n/, "").replace(/(data: )\S+/g, "$1V"), noKey.replace(/(data: )\S+/g, "$1V"));
});
