// `npm run image`: dist/renew-certs-image.tar, an OCI image archive (an OCI image layout in a tar)
// holding the standalone executable, nsenter (the init container runs the host's systemctl through
// it) and the shared libraries both need, found by ldd, with the dynamic loader. No daemon, no
// network, no base image. The layout is written here (oci-layout, index.json, the manifest, the
// config and the layer, blobs named by their sha256), with tar-stream for both tar files; every
// entry has a fixed mtime, owner and order, so the same input always gives the same digests.
//   node scripts/image.mjs [--exe dist/renew-certs] [--out dist/renew-certs-image.tar] [--name renew-certs:dev]
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { createWriteStream, readFileSync, realpathSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { exe: { type: "string" }, out: { type: "string" }, name: { type: "string" }, nsenter: { type: "string" } } });
const exe = resolve(values.exe ?? join(repo, "dist/renew-certs"));
const out = resolve(values.out ?? join(repo, "dist/renew-certs-image.tar"));
const name = values.name ?? "renew-certs:dev";
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
/** Every file's mtime, and the config's "created": SOURCE_DATE_EPOCH when set, else the epoch. */
const EPOCH = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000);
const ARCH = { x64: "amd64", arm64: "arm64" }[process.arch] ?? process.arch;

/** The full reference containerd stores (docker.io/library/renew-certs:dev) and the tag, from a name. */
function reference(ref) {
  const at = ref.indexOf("@");
  const slash = ref.indexOf("/");
  const first = slash < 0 ? "" : ref.slice(0, slash);
  const domain = first.includes(".") || first.includes(":") || first === "localhost";
  const path = domain ? ref : slash < 0 ? `docker.io/library/${ref}` : `docker.io/${ref}`;
  const lastColon = path.lastIndexOf(":");
  const tagged = at < 0 && lastColon > path.lastIndexOf("/");
  const full = tagged || at >= 0 ? path : `${path}:latest`;
  return { full, tag: tagged ? full.slice(full.lastIndexOf(":") + 1) : "latest" };
}

/** The shared libraries `file` loads, and its dynamic loader, by ldd: [path as the loader finds it, real file]. */
function libraries(file) {
  const r = spawnSync("ldd", [file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ldd ${file} failed: ${r.stderr || r.stdout}`);
  const libs = [];
  for (const line of r.stdout.split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/** Every file of the image's root: path inside → { source, mode }. */
function contents() {
  const nsenter = values.nsenter ?? spawnSync("sh", ["-c", "command -v nsenter"], { encoding: "utf8" }).stdout.trim();
  if (!nsenter) throw new Error("nsenter not found: install util-linux");
  statSync(exe); // a clear ENOENT naming the file when npm run build has not run
  const files = new Map([
    ["usr/local/bin/renew-certs", { source: exe, mode: 0o755 }],
    ["usr/bin/nsenter", { source: nsenter, mode: 0o755 }],
  ]);
  for (const lib of [...libraries(exe), ...libraries(nsenter)]) files.set(lib.slice(1), { source: realpathSync(lib), mode: 0o755 });
  return files;
}

/** Writes entries to a tar in memory; directories of the files are added before them, all sorted. */
async function tarOf(entries) {
  const pack = tar.pack();
  const chunks = [];
  pack.on("data", (c) => chunks.push(c));
  const done = new Promise((res, rej) => { pack.on("end", res); pack.on("error", rej); });
  const dirs = new Set();
  for (const path of entries.keys()) for (let d = dirname(path); d !== "."; d = dirname(d)) dirs.add(d);
  const all = [...[...dirs].map((d) => [d, { dir: true }]), ...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header = { mtime: EPOCH, uid: 0, gid: 0, uname: "root", gname: "root" };
  for (const [path, e] of all) {
    if (e.dir) pack.entry({ ...header, name: `${path}/`, type: "directory", mode: path === "tmp" ? 0o1777 : 0o755 });
    else pack.entry({ ...header, name: path, mode: e.mode }, e.bytes ?? readFileSync(e.source));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha256 = (b) => createHash("sha256").update(b).digest("hex");
const json = (o) => Buffer.from(JSON.stringify(o));

const t0 = Date.now();
const files = contents();
// /tmp: Node.js and renew-certs write temporary files there.
files.set("tmp/.keep", { bytes: Buffer.alloc(0), mode: 0o644 });
const layerTar = await tarOf(files);
const layer = gzipSync(layerTar, { level: 6 });
const ref = reference(name);
const config = json({
  created: EPOCH.toISOString(),
  architecture: ARCH,
  os: "linux",
  config: {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    Entrypoint: ["/usr/local/bin/renew-certs"],
    Labels: { "org.opencontainers.image.title": "renew-certs", "org.opencontainers.image.version": pkg.version, "org.opencontainers.image.licenses": pkg.license },
  },
  rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layerTar)}`] },
  history: [{ created: EPOCH.toISOString(), created_by: "renew-certs scripts/image.mjs", comment: "the standalone executable, nsenter and their shared libraries" }],
});
const manifest = json({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha256(config)}`, size: config.length },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${sha256(layer)}`, size: layer.length }],
  annotations: { "org.opencontainers.image.version": pkg.version },
});
const index = json({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${sha256(manifest)}`,
    size: manifest.length,
    platform: { architecture: ARCH, os: "linux" },
    // containerd names the image it imports by the first (containerd#1816); skopeo and the OCI
    // layout by the second, the tag.
    annotations: { "io.containerd.image.name": ref.full, "org.opencontainers.image.ref.name": ref.tag },
  }],
});

const blobs = new Map([["oci-layout", { bytes: json({ imageLayoutVersion: "1.0.0" }), mode: 0o644 }], ["index.json", { bytes: index, mode: 0o644 }]]);
for (const b of [config, manifest, layer]) blobs.set(`blobs/sha256/${sha256(b)}`, { bytes: b, mode: 0o644 });
const archive = await tarOf(blobs);
await mkdir(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
try {
  await pipeline(async function* () { yield archive; }, createWriteStream(tmp));
  await rename(tmp, out);
} finally {
  await rm(tmp, { force: true });
}
console.log(`image       ${out} (${ref.full}, manifest sha256:${sha256(manifest)}, ${(archive.length / 1048576).toFixed(1)} MiB, ${Date.now() - t0} ms)`);
