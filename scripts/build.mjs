// `npm run build`: the single-file bundle dist/renew-certs.cjs (runs with `node`, no node_modules)
// and the standalone Linux executable dist/renew-certs (Node's single executable applications:
// a copy of this node binary with a small loader, the library bundle and trained V8 code caches
// injected; runs where no Node.js is installed).
//   node scripts/build.mjs [--out DIR] [--bundle-only]
// Internal: node scripts/build.mjs --train sandboxes|full|status --lib FILE --cache FILE --sandboxes DIR
// (one training run, in its own process; see train below).
import { build } from "esbuild";
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile, chmod } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Script } from "node:vm";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    out: { type: "string" },
    "bundle-only": { type: "boolean" },
    train: { type: "string" },
    lib: { type: "string" },
    cache: { type: "string" },
    sandboxes: { type: "string" },
  },
});
if (values.train) {
  await train(values.train, resolve(values.lib), resolve(values.cache), resolve(values.sandboxes));
  process.exit(0);
}

const out = resolve(values.out ?? join(repo, "dist"));
const pkg = JSON.parse(await readFile(join(repo, "package.json"), "utf8"));
const bundle = join(out, "renew-certs.cjs");
const exe = join(out, "renew-certs");

/** The esbuild options of both bundles. */
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  // CommonJS: the only format a single executable application runs in Node.js 20.
  format: "cjs",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  // The version is injected instead of read from package.json, which is not next to the bundle;
  // import.meta.url (empty in CommonJS) becomes the bundle's own file URL so that code resolving
  // paths from it keeps working.
  banner: { js: `globalThis.RENEW_CERTS_VERSION=${JSON.stringify(pkg.version)};var __renewCertsUrl=require("node:url").pathToFileURL(__filename).href;` },
  define: { "import.meta.url": "__renewCertsUrl" },
};

/** Dynamic import() of a built-in module survives bundling, but fails in a single executable
 *  application built with a code cache (Node.js 20: ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING). */
function checkNoImport(file, code) {
  const dynamic = /(?<![\w$.])import\(\s*["'`]([^"'`]+)/.exec(code);
  if (dynamic) throw new Error(`${file} keeps import("${dynamic[1]}"), which fails in the standalone executable: use createRequire(import.meta.url)("${dynamic[1]}") instead`);
}

await mkdir(out, { recursive: true });
const t0 = Date.now();
// The shebang of main.ts is kept by esbuild.
await build({ ...common, entryPoints: [join(repo, "src/cli/main.ts")], outfile: bundle });
checkNoImport(bundle, await readFile(bundle, "utf8"));
console.log(`bundle      ${bundle} (${Date.now() - t0} ms)`);

if (!values["bundle-only"]) {
  if (process.platform !== "linux") throw new Error("the standalone executable is built on Linux");
  const t1 = Date.now();
  const work = await mkdtemp(join(tmpdir(), "renew-certs-build-"));
  try {
    const blob = join(work, "renew-certs.blob");
    const seaConfig = join(work, "sea-config.json");
    let config;
    // Single executable applications have assets from Node.js 20.12 and 21.7.
    const [major, minor] = process.versions.node.split(".").map(Number);
    if (major > 21 || (major === 21 && minor >= 7) || (major === 20 && minor >= 12)) {
      const { lib, caches } = await trainedLibrary(work);
      // No code cache for the loader itself: it is a few lines, and one made no measurable difference.
      config = { main: join(repo, "scripts/sea-loader.cjs"), assets: { "renew-certs.js": lib, ...caches }, useCodeCache: false };
    } else {
      console.log(`note: node ${process.version} has no assets in single executable applications (20.12 or later has): the executable runs the bundle, with the code cache of its top-level code only`);
      config = { main: bundle, useCodeCache: true };
    }
    Object.assign(config, { output: blob, disableExperimentalSEAWarning: true });
    await writeFile(seaConfig, JSON.stringify(config));
    const prep = spawnSync(process.execPath, ["--experimental-sea-config", seaConfig], { encoding: "utf8" });
    if (prep.status !== 0) throw new Error(`node --experimental-sea-config failed: ${prep.stderr}`);
    await rm(exe, { force: true });
    await copyFile(process.execPath, exe);
    await chmod(exe, 0o755);
    const postject = join(repo, "node_modules/postject/dist/cli.js");
    const inj = spawnSync(process.execPath, [postject, exe, "NODE_SEA_BLOB", blob, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"], { encoding: "utf8" });
    if (inj.status !== 0) throw new Error(`postject failed: ${inj.stderr}${inj.stdout}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  console.log(`executable  ${exe} (${Date.now() - t1} ms)`);
}

/**
 * The library bundle (runMain and processIO) wrapped as Node.js wraps a CommonJS module, so that
 * the loader and the training compile the same source, and its two code caches, each from its own
 * training process: V8 puts in a cache every function compiled before createCachedData(), so the
 * status cache holds only what the fast commands run and stays quick to deserialize.
 */
async function trainedLibrary(work) {
  const t = Date.now();
  const raw = join(work, "lib.cjs");
  await build({ ...common, entryPoints: [join(repo, "src/cli/entry-lib.ts")], outfile: raw });
  const code = await readFile(raw, "utf8");
  checkNoImport(raw, code);
  const lib = join(work, "renew-certs.js");
  await writeFile(lib, `(function (exports, require, module, __filename, __dirname) {${code}\n})`);
  const sandboxes = join(work, "sandboxes");
  await mkdir(sandboxes);
  const caches = {};
  // "sandboxes" first, in a process whose cache is thrown away: creating a sandbox compiles the
  // X.509 builder, which hosts never run and which would double the full cache. Then "full"
  // renews them, and "status" reads untouched copies.
  for (const set of ["sandboxes", "full", "status"]) {
    const cache = join(work, `${set}.cache`);
    // NODE_OPTIONS could change V8's flags, which a code cache must match.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--train", set, "--lib", lib, "--cache", cache, "--sandboxes", sandboxes], { encoding: "utf8", env });
    if (r.status !== 0) throw new Error(`training the ${set} code cache failed: ${r.stderr}${r.stdout}`);
    if (set !== "sandboxes") caches[`${set}.cache`] = cache;
  }
  const kib = async (f) => `${Math.round((await stat(f)).size / 1024)} KiB`;
  console.log(`trained     code caches: status ${await kib(caches["status.cache"])}, full ${await kib(caches["full.cache"])} (${Date.now() - t} ms)`);
  return { lib, caches };
}

/**
 * One training run: compiles the library as the loader does, runs the commands of the set on
 * sandboxes with their output discarded (shown only when a command fails), then writes the code cache.
 */
async function train(set, lib, cache, dir) {
  const script = new Script(await readFile(lib, "utf8"), { filename: lib });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(lib), module, lib, dirname(lib));
  const { runMain } = module.exports;
  const run = async (args, { codes = [0], tty = false } = {}) => {
    let output = "";
    const write = (s) => void (output += s);
    const io = { stdout: write, stderr: write, env: {}, isTTY: tty, stderrIsTTY: tty, readStdin: () => Promise.resolve("") };
    const code = await runMain(args, io);
    if (!codes.includes(code)) throw new Error(`renew-certs ${args.join(" ")} exited with ${code} in training:\n${output}`);
  };
  const rsa = join(dir, "rsa");
  const ecdsa = join(dir, "ecdsa");
  if (set === "status") {
    // The read-only fast commands, on sandboxes nothing has renewed.
    await run(["--version"]);
    await run(["--help"]);
    await run([], { codes: [2] });
    await run(["status", "--help"]);
    await run(["status", "--root", `${rsa}-status`]);
    await run(["status", "--root", `${ecdsa}-status`], { tty: true });
    await run(["status", "--root", `${ecdsa}-status`, "-o", "json"]);
  } else if (set === "sandboxes") {
    // Port 1 for the API server: doctor's connections are refused, whatever runs on this machine.
    await run(["sandbox", rsa, "--age-days", "300", "--apiserver-port", "1"]);
    await run(["sandbox", ecdsa, "--age-days", "300", "--key-type", "ecdsa-p256", "--apiserver-port", "1"]);
    await cp(rsa, `${rsa}-status`, { recursive: true });
    await cp(ecdsa, `${ecdsa}-status`, { recursive: true });
    return;
  } else if (set === "full") {
    await run(["--help"]);
    await run(["run", "--help"]);
    await run(["status", "--root", rsa]);
    await run(["status", "--root", ecdsa, "-o", "yaml"]);
    // 10: doctor found a failure (no timer, no API server), as expected on a sandbox.
    await run(["doctor", "--root", ecdsa], { codes: [0, 10] });
    await run(["renew", "all", "--root", rsa, "--dry-run"]);
    await run(["renew", "all", "--root", rsa]);
    await run(["renew", "all", "--root", ecdsa]);
    await run(["restore", "--list", "--root", ecdsa]);
    await run(["status", "--root", ecdsa]);
  } else {
    throw new Error(`unknown training set ${set}`);
  }
  await writeFile(cache, script.createCachedData());
}
