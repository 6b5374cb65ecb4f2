// `npm run build`: the single-file bundle dist/renew-certs.cjs (runs with `node`, no node_modules)
// and the standalone Linux executable dist/renew-certs (Node's single executable applications:
// a copy of this node binary with the bundle and V8's code cache of its top-level code injected;
// runs where no Node.js is installed).
//   node scripts/build.mjs [--out DIR] [--bundle-only]
import { build } from "esbuild";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile, chmod } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { out: { type: "string" }, "bundle-only": { type: "boolean" } } });

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
    // Node's own code cache of the bundle's top-level code: a start-up that status can afford
    // (docs/design.md, "What status loads"). V8 rejects it under other V8 flags, which only slows the start.
    const config = { main: bundle, output: blob, useCodeCache: true, disableExperimentalSEAWarning: true };
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
