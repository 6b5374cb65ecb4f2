// The container image as users get it from `npm run image`: an OCI image archive that skopeo
// reads as it is, whose layer unpacks (skopeo copy to an OCI layout, then umoci unpack) into a root
// where the executable and nsenter run under chroot, with nothing of the host's libraries.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtDistribution } from "../support/dist.js";
import { needTools, run } from "../support/tools.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const VERSION = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string }).version;
/** A clean environment: no NODE_OPTIONS or NODE_EXTRA_CA_CERTS of the host's leak into the chroot. */
const CLEAN_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

let work = "";
let archive = "";

/** Writes the image of `exe` to `out` with scripts/image.mjs, as npm run image does. */
function image(exe: string, out: string, name = "renew-certs:dev"): string {
  const r = run(process.execPath, [join(REPO, "scripts/image.mjs"), "--exe", exe, "--out", out, "--name", name], { cwd: REPO });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  return out;
}

const sha256 = async (f: string): Promise<string> => createHash("sha256").update(await readFile(f)).digest("hex");

before(async () => {
  work = await mkdtemp(join(tmpdir(), "renew-certs-image-"));
  process.once("exit", () => rmSync(work, { recursive: true, force: true }));
  archive = image(join(await builtDistribution(), "renew-certs"), join(work, "renew-certs-image.tar"));
});

test("the archive is an OCI layout whose index names the image for containerd and for skopeo", async (t) => {
  if (!needTools(t, "tar")) return;
  const list = run("tar", ["-tvf", archive]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^-.* oci-layout$/m);
  const x = run("tar", ["-xOf", archive, "index.json"]);
  const index = JSON.parse(x.stdout) as { manifests: { digest: string; annotations: Record<string, string>; platform: { os: string } }[] };
  assert.equal(index.manifests.length, 1);
  assert.deepEqual(index.manifests[0]!.annotations, { "io.containerd.image.name": "docker.io/library/renew-certs:dev", "org.opencontainers.image.ref.name": "dev" });
  assert.equal(index.manifests[0]!.platform.os, "linux");
  // Every entry owned by root with the fixed time: the same input, the same digests.
  for (const line of list.stdout.trim().split("\n")) assert.match(line, /^\S+ root\/root .* 1970-01-01 00:00 /, line);
});

test("the same executable gives the same archive, byte for byte", async () => {
  const exe = "/bin/true";
  const a = image(exe, join(work, "a.tar"), "registry.example:5000/team/renew-certs:1.2.3");
  const b = image(exe, join(work, "b.tar"), "registry.example:5000/team/renew-certs:1.2.3");
  assert.equal(await sha256(a), await sha256(b));
  const x = run("tar", ["-xOf", a, "index.json"]);
  assert.match(x.stdout, /"io\.containerd\.image\.name":"registry\.example:5000\/team\/renew-certs:1\.2\.3","org\.opencontainers\.image\.ref\.name":"1\.2\.3"/);
});

test("skopeo inspects the archive as it is: linux, this architecture, one layer, the version label", (t) => {
  if (!needTools(t, "skopeo")) return;
  const r = run("skopeo", ["inspect", `oci-archive:${archive}`]);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { Os: string; Architecture: string; Layers: string[]; Labels: Record<string, string>; Digest: string };
  assert.equal(info.Os, "linux");
  assert.equal(info.Architecture, process.arch === "x64" ? "amd64" : process.arch);
  assert.equal(info.Layers.length, 1);
  assert.equal(info.Labels["org.opencontainers.image.version"], VERSION);
  const index = JSON.parse(run("tar", ["-xOf", archive, "index.json"]).stdout) as { manifests: { digest: string }[] };
  assert.equal(info.Digest, index.manifests[0]!.digest);
});

test("copied by skopeo and unpacked by umoci, the image's root runs renew-certs --version and nsenter under chroot", async (t) => {
  if (!needTools(t, "skopeo", "umoci", "chroot")) return;
  if (process.getuid?.() !== 0) {
    if (process.env["CI"] === "true") assert.fail("chroot needs root: CI runs as root");
    t.skip("needs root (chroot)");
    return;
  }
  const layout = join(work, "oci");
  const copy = run("skopeo", ["copy", "-q", `oci-archive:${archive}`, `oci:${layout}:dev`]);
  assert.equal(copy.status, 0, copy.stderr);
  const bundle = join(work, "bundle");
  const unpack = run("umoci", ["unpack", "--image", `${layout}:dev`, bundle]);
  assert.equal(unpack.status, 0, unpack.stderr);
  const rootfs = join(bundle, "rootfs");
  assert.equal((await stat(join(rootfs, "usr/local/bin/renew-certs"))).mode & 0o777, 0o755);
  const v = run("chroot", [rootfs, "/usr/local/bin/renew-certs", "--version"], { env: CLEAN_ENV });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout, `${VERSION}\n`);
  assert.equal(v.stderr, "");
  const n = run("chroot", [rootfs, "/usr/bin/nsenter", "--version"], { env: CLEAN_ENV });
  assert.equal(n.status, 0, n.stderr);
  assert.match(n.stdout, /^nsenter from util-linux/);
  // And the manifests the image is for, printed by the executable inside it.
  const d = run("chroot", [rootfs, "/usr/local/bin/renew-certs", "deploy", "--image", "renew-certs:dev"], { env: CLEAN_ENV });
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /^kind: DaemonSet$/m);
});

test("containerd imports the archive as it is (ctr -n k8s.io images import) and runs the executable inside it", async (t) => {
  if (!needTools(t, "containerd", "ctr")) return;
  if (process.getuid?.() !== 0) {
    if (process.env["CI"] === "true") assert.fail("containerd needs root: CI runs as root");
    t.skip("needs root (containerd)");
    return;
  }
  // A containerd of the test's own, on its own socket and directories: the host's, if any, is left alone.
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-containerd-"));
  const sock = join(dir, "containerd.sock");
  const daemon = spawn("containerd", ["--root", join(dir, "root"), "--state", join(dir, "state"), "--address", sock], { stdio: "ignore" });
  t.after(() => {
    daemon.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });
  const ctr = (...args: string[]) => run("ctr", ["--address", sock, "-n", "k8s.io", ...args]);
  // Ready when it answers (an event: the socket serves), within a minute on a slow machine.
  for (const deadline = Date.now() + 60_000; ctr("version").status !== 0;) {
    assert.ok(Date.now() < deadline, "containerd did not answer on its socket within 60 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  const imp = ctr("images", "import", archive);
  assert.equal(imp.status, 0, imp.stderr);
  assert.match(ctr("images", "ls", "-q").stdout, /^docker\.io\/library\/renew-certs:dev$/m);
  const v = ctr("run", "--rm", "docker.io/library/renew-certs:dev", `version-${process.pid}`, "renew-certs", "--version");
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), VERSION);
});
