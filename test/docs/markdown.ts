// What the documentation tests read from the Markdown pages: their links, the anchors their headings
// make, and the shell blocks marked runnable. Plain line scans: the pages are ours, and a small
// reader whose rules fit on one screen is easier to trust than a Markdown library's.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root (this file runs from build/test/docs). */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** A documentation page: its path relative to the repository, and its text. */
export interface Page {
  path: string;
  text: string;
}

/** README.md and every docs/*.md, README first. */
export function pages(): Page[] {
  const docs = readdirSync(join(REPO, "docs")).filter((n) => n.endsWith(".md")).sort().map((n) => `docs/${n}`);
  return ["README.md", ...docs].map((path) => ({ path, text: readFileSync(join(REPO, path), "utf8") }));
}

/** The number of lines of a text, a last line without its newline included. */
export function lineCount(text: string): number {
  const n = text.split("\n").length;
  return text.endsWith("\n") ? n - 1 : n;
}

/** The lines outside fenced code blocks (a fence's content is example output, not Markdown). */
function proseLines(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push(line);
  }
  return out;
}

/** Every link target of a page's prose, in order: `[text](target)`, inline code left out. */
export function links(text: string): string[] {
  const out: string[] = [];
  for (const line of proseLines(text)) {
    // Code spans may hold brackets and parentheses ("[--root DIR]"); a link's text may hold a code span.
    const bare = line.replace(/(`+)[^`]*?\1/g, "code");
    for (const m of bare.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) out.push(m[1]!);
  }
  return out;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The anchors of a page's headings. */
export function anchors(text: string): Set<string> {
  return new Set(proseLines(text).filter((l) => /^#{1,6}\s/.test(l)).map((l) => slug(l.replace(/^#+\s*/, ""))));
}

/** A shell block marked runnable, with the exit code it is expected to end with. */
export interface RunnableBlock {
  /** 1-based line of the marker. */
  line: number;
  script: string;
  exit: number;
}

/** The marker, on the line before a ```sh fence: `<!-- runnable -->` or `<!-- runnable: exit N -->`. */
const MARKER = /^<!--\s*runnable(?::\s*exit\s+(\d+))?\s*-->\s*$/;

/** The runnable blocks of a page; a marker not followed by a sh fence is an error naming the line. */
export function runnableBlocks(page: Page): RunnableBlock[] {
  const lines = page.text.split("\n");
  const out: RunnableBlock[] = [];
  lines.forEach((l, i) => {
    const m = MARKER.exec(l.trim());
    if (!m) return;
    if (lines[i + 1]?.trim() !== "```sh") throw new Error(`${page.path}:${i + 1}: a runnable marker must be followed by a \`\`\`sh block`);
    const end = lines.findIndex((x, j) => j > i + 1 && x.trim() === "```");
    if (end < 0) throw new Error(`${page.path}:${i + 1}: the runnable block is not closed`);
    out.push({ line: i + 1, script: lines.slice(i + 2, end).join("\n"), exit: m[1] ? Number(m[1]) : 0 });
  });
  return out;
}

/** The command lines of the first ```sh block of a page, comments and blank lines left out. */
export function firstShellCommands(text: string): { line: number; commands: string[] } | undefined {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === "```sh");
  if (start < 0) return undefined;
  const end = lines.findIndex((l, j) => j > start && l.trim() === "```");
  const commands = lines.slice(start + 1, end).map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l && !l.startsWith("#"));
  return { line: start + 1, commands };
}
