// The documentation as a newcomer meets it: a short README whose first commands are the quick
// start, every page reachable from it, no link that leads nowhere, and every example marked
// runnable actually running on a sandbox control plane (docs/testing.md says how to mark one).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { anchors, firstShellCommands, lineCount, links, pages, REPO, runnableBlocks, type Page } from "./markdown.js";

const ALL = pages();
const README = ALL[0]!;
const SHIM = fileURLToPath(new URL("./shim.js", import.meta.url));

/** A relative link's target file, relative to the repository ("" for the page itself), and its anchor. */
function resolveLink(page: Page, target: string): { file: string; anchor: string | undefined } {
  const [path = "", anchor] = target.split("#", 2);
  const file = path === "" ? page.path : normalize(join(dirname(page.path), decodeURIComponent(path)));
  return { file, anchor };
}

const isExternal = (t: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(t);

test("the README is under 250 lines", () => {
  const n = lineCount(README.text);
  assert.ok(n < 250, `README.md has ${n} lines: move the detail to a page in docs/`);
});

test("the README's first commands are the two of the quick start: install and demo, then the whole suite", () => {
  const first = firstShellCommands(README.text);
  assert.ok(first, "README.md has no ```sh block");
  assert.ok(first.line <= 15, `the quick start's block starts on line ${first.line}: keep it on the first screen`);
  assert.deepEqual(first.commands, ["npm install && npm run demo", "npm test"]);
});

test("every page in docs/ is linked from the README", () => {
  const linked = new Set(links(README.text).filter((t) => !isExternal(t)).map((t) => resolveLink(README, t).file));
  const missing = ALL.slice(1).map((p) => p.path).filter((p) => !linked.has(p));
  assert.deepEqual(missing, [], `pages the README does not link: ${missing.join(", ")}`);
});

test("every relative link of the README and docs/ leads to a file that exists, and to a heading of it", () => {
  const broken: string[] = [];
  for (const page of ALL) {
    for (const target of links(page.text)) {
      if (isExternal(target)) continue;
      const { file, anchor } = resolveLink(page, target);
      const abs = join(REPO, file);
      if (relative(REPO, abs).startsWith("..") || !existsSync(abs)) {
        broken.push(`${page.path}: (${target}): ${file} does not exist`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!file.endsWith(".md") || statSync(abs).isDirectory()) broken.push(`${page.path}: (${target}): an anchor into a file that is not a page`);
      else if (!anchors(readFileSync(abs, "utf8")).has(anchor)) broken.push(`${page.path}: (${target}): ${file} has no heading #${anchor}`);
    }
  }
  assert.deepEqual(broken, []);
});

test("the reader of runnable blocks finds the marker, the block and the expected exit code", () => {
  const page: Page = { path: "x.md", text: "a\n<!-- runnable: exit 10 -->\n```sh\nnpx renew-certs doctor\n```\n<!-- runnable -->\n```sh\necho\n```\n" };
  assert.deepEqual(runnableBlocks(page), [{ line: 2, script: "npx renew-certs doctor", exit: 10 }, { line: 6, script: "echo", exit: 0 }]);
  assert.throws(() => runnableBlocks({ path: "y.md", text: "<!-- runnable -->\ntext\n" }), /y\.md:1: a runnable marker must be followed by a ```sh block/);
});

// Each page's blocks run in order, in one fresh directory standing for /tmp; sandboxes made with the
// same options are copied from the first (shim.ts), so a page costs a few CLI starts, not key generation.
const cache = mkdtempSync(join(tmpdir(), "renew-certs-docs-cache-"));
process.once("exit", () => rmSync(cache, { recursive: true, force: true }));

test("at least the README, status, renew, run, doctor and Cluster API pages show runnable examples", () => {
  const withBlocks = ALL.filter((p) => runnableBlocks(p).length > 0).map((p) => p.path);
  for (const p of ["README.md", "docs/status.md", "docs/renew.md", "docs/run.md", "docs/doctor.md", "docs/cluster-api.md"]) assert.ok(withBlocks.includes(p), `${p} has no runnable block`);
});

for (const page of ALL) {
  const blocks = runnableBlocks(page);
  if (blocks.length === 0) continue;
  test(`the runnable examples of ${page.path} run on a sandbox control plane`, { timeout: 600_000 }, (t) => {
    const tmp = mkdtempSync(join(tmpdir(), "renew-certs-docs-"));
    t.after(() => rmSync(tmp, { recursive: true, force: true }));
    // `npx renew-certs` is the built CLI; any other npx would reach for a registry, so it fails.
    const prelude = `npx() { if [ "$1" = renew-certs ]; then shift; "$RENEW_CERTS_DOCS_NODE" "$RENEW_CERTS_DOCS_SHIM" "$@"; else echo "npx $1: only npx renew-certs runs in an example" >&2; return 127; fi; }\n`;
    for (const b of blocks) {
      const script = b.script.replaceAll("/tmp/", `${tmp}/`);
      const r = spawnSync("sh", ["-e", "-c", prelude + script], {
        cwd: tmp,
        encoding: "utf8",
        timeout: 300_000,
        env: { ...process.env, NO_COLOR: "1", RENEW_CERTS_DOCS_NODE: process.execPath, RENEW_CERTS_DOCS_SHIM: SHIM, RENEW_CERTS_DOCS_SANDBOX_CACHE: cache },
      });
      assert.equal(r.status, b.exit, `${page.path}:${b.line}: the block exited ${String(r.status ?? r.signal)}, not ${b.exit}:\n${b.script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    }
  });
}
