import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needTools, run } from "../../test/support/tools.js";
import { agentCommand, COMMAND_MARKER, isOwnCommand, isOwnFile } from "./bootstrap.js";

const SHA = "0123456789abcdef".repeat(4);
const URL_ = "https://example.com/releases/v1/renew-certs-linux-amd64?x=1,y=2";

test("the download command fetches over https only, checks the sha256 and fails the bootstrap otherwise", () => {
  const cmd = agentCommand({ kind: "url", url: URL_, sha256: SHA });
  assert.match(cmd, /curl -fsSL --proto =https --proto-redir =https --retry 5 -o \/usr\/local\/bin\/\.renew-certs\.download 'https:\/\/example\.com\/releases\/v1\/renew-certs-linux-amd64\?x=1,y=2'/);
  assert.match(cmd, new RegExp(`echo '${SHA}  /usr/local/bin/.renew-certs.download' \\| sha256sum -c --status -`));
  assert.match(cmd, /&& chmod 0755 \/usr\/local\/bin\/\.renew-certs\.download && mv -f \/usr\/local\/bin\/\.renew-certs\.download \/usr\/local\/bin\/renew-certs \|\| \{ rm -f .*; exit 1; \} # renew-certs capi patch$/);
  assert.equal(cmd.split("\n").length, 1, "one runcmd line");
  assert.ok(isOwnCommand(cmd));
  assert.ok(!isOwnCommand("echo hello"));
  assert.ok(!isOwnCommand(`echo "${COMMAND_MARKER}" > /dev/null; true`));
  assert.ok(isOwnFile({ path: "/etc/systemd/system/renew-certs.timer" }));
  assert.ok(!isOwnFile({ path: "/etc/renew-certs/other.yaml" }));
});

/** A host directory standing for "/", a curl test double on PATH, and a runner for one bootstrap line. */
async function host(t: TestContext): Promise<{ root: string; bootstrap: (line: string, env?: Record<string, string>) => ReturnType<typeof run> }> {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-agent-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const bin = join(root, "test-bin");
  await mkdir(bin);
  // Test double of curl: copies $CURL_SOURCE to the -o target, or fails like a 404 with CURL_FAIL set.
  await writeFile(join(bin, "curl"), `#!/bin/sh
[ -n "$CURL_FAIL" ] && { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }
out=; while [ $# -gt 0 ]; do [ "$1" = -o ] && { out=$2; shift; }; shift; done
cp "$CURL_SOURCE" "$out"
`, { mode: 0o755 });
  // cloud-init runs runcmd as one sh script: a line that exits stops kubeadm from running.
  const bootstrap = (line: string, env: Record<string, string> = {}): ReturnType<typeof run> =>
    run("sh", ["-c", `${line.replaceAll("/usr/local/bin", `${root}/usr/local/bin`)}\necho kubeadm-ran`], { env: { ...process.env, PATH: `${bin}:${process.env["PATH"]}`, ...env } });
  return { root, bootstrap };
}

test("a download whose sha256 matches is installed executable, with no temporary file left", async (t) => {
  if (!needTools(t, "sh", "sha256sum")) return;
  const { root, bootstrap } = await host(t);
  const source = join(root, "artifact");
  await writeFile(source, "#!/bin/sh\necho renew-certs 1.0\n");
  const sha = createHash("sha256").update(await readFile(source)).digest("hex");
  const r = bootstrap(agentCommand({ kind: "url", url: URL_, sha256: sha }), { CURL_SOURCE: source });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /kubeadm-ran/);
  assert.equal((await stat(join(root, "usr/local/bin/renew-certs"))).mode & 0o777, 0o755);
  assert.deepEqual(await readdir(join(root, "usr/local/bin")), ["renew-certs"]);
});

test("a download whose sha256 differs is not installed and stops the bootstrap before kubeadm", async (t) => {
  if (!needTools(t, "sh", "sha256sum")) return;
  const { root, bootstrap } = await host(t);
  const source = join(root, "artifact");
  await writeFile(source, "tampered\n");
  const r = bootstrap(agentCommand({ kind: "url", url: URL_, sha256: SHA }), { CURL_SOURCE: source });
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.stdout, /kubeadm-ran/);
  assert.match(r.stderr, new RegExp(`renew-certs: cannot install .*/usr/local/bin/renew-certs from .*: the download failed or its sha256 is not ${SHA}`));
  assert.deepEqual(await readdir(join(root, "usr/local/bin")), []);
});

test("a failed download stops the bootstrap before kubeadm", async (t) => {
  if (!needTools(t, "sh", "sha256sum")) return;
  const { root, bootstrap } = await host(t);
  const r = bootstrap(agentCommand({ kind: "url", url: URL_, sha256: SHA }), { CURL_FAIL: "1" });
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.stdout, /kubeadm-ran/);
  assert.deepEqual(await readdir(join(root, "usr/local/bin")), []);
});

test("the preinstalled check stops the bootstrap when the executable is missing and passes when it runs", async (t) => {
  if (!needTools(t, "sh")) return;
  const { root, bootstrap } = await host(t);
  const missing = bootstrap(agentCommand({ kind: "preinstalled" }));
  assert.equal(missing.status, 1);
  assert.doesNotMatch(missing.stdout, /kubeadm-ran/);
  assert.match(missing.stderr, /renew-certs: .*\/usr\/local\/bin\/renew-certs is missing or does not run: build it into the machine image, or patch with --agent url=/);
  await mkdir(join(root, "usr/local/bin"), { recursive: true });
  await writeFile(join(root, "usr/local/bin/renew-certs"), "#!/bin/sh\nexit 0\n");
  await chmod(join(root, "usr/local/bin/renew-certs"), 0o755);
  const present = bootstrap(agentCommand({ kind: "preinstalled" }));
  assert.equal(present.status, 0, present.stderr);
  assert.match(present.stdout, /kubeadm-ran/);
});
