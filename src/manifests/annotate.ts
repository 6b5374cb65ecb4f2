import { isMap, isScalar, type Node, type Pair, type YAMLMap } from "yaml";
import { RenewCertsError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { readText } from "../util/fs.js";
import { parseManifestDocument } from "./manifest.js";

/*
 * The edit is a splice of the source text at the offsets the yaml Document reports, not a
 * re-serialisation: every byte outside the annotation stays as it was (comments, key order,
 * quoting, indentation, line endings), so `diff` shows exactly the annotation lines.
 */

type Range = [number, number, number];

/**
 * The restart annotation's value: unix seconds with a six-digit fraction, e.g. "1764300000.123456".
 * `now` is a Date or epoch milliseconds with a fraction (performance.timeOrigin + performance.now()).
 */
export function restartStamp(now: Date | number): string {
  const micros = Math.round((typeof now === "number" ? now : now.getTime()) * 1000);
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, "0")}`;
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Throws CONFIG unless `key` is a valid Kubernetes annotation key ("prefix/name" or "name"). */
export function checkAnnotationKey(key: string): void {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  const ok = NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)));
  if (!ok) {
    throw new RenewCertsError("CONFIG", `annotation key ${JSON.stringify(key)} is not a valid Kubernetes annotation key (an optional DNS prefix and "/", then a name of at most 63 letters, digits, "-", "_" or "."): fix annotationKey in the configuration`);
  }
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

function column(text: string, pos: number): number {
  return pos - lineStart(text, pos);
}

/** The offset just after the line that contains `pos` (or the end of the text). */
function afterLine(text: string, pos: number): number {
  if (pos > 0 && text[pos - 1] === "\n") return pos;
  const nl = text.indexOf("\n", pos);
  return nl < 0 ? text.length : nl + 1;
}

function range(n: Node | null | undefined): Range {
  const r = (n as { range?: Range } | null | undefined)?.range;
  if (!r) throw new RenewCertsError("INTERNAL", "YAML node without a source range");
  return r;
}

function splice(text: string, at: number, end: number, insert: string): string {
  return text.slice(0, at) + insert + text.slice(end);
}

/** Inserts a line (or block of lines, each ending in `nl`) after the line at `pos`. */
function insertLines(text: string, pos: number, lines: string, nl: string): string {
  const at = afterLine(text, pos);
  const lead = at === text.length && text.length > 0 && !text.endsWith("\n") ? nl : "";
  return splice(text, at, at, lead + lines);
}

/** Appends `key: value` to a non-empty mapping (block or flow). */
function appendToMap(text: string, map: YAMLMap, keyText: string, valueText: string, nl: string): string {
  const last = map.items[map.items.length - 1] as Pair<Node, Node | null>;
  if (map.flow) {
    const end = last.value ? range(last.value)[1] : range(last.key)[1];
    return splice(text, end, end, `, ${keyText}: ${valueText}`);
  }
  const indent = " ".repeat(column(text, range(map.items[0]!.key as Node)[0]));
  const end = last.value ? range(last.value)[2] : range(last.key)[2];
  return insertLines(text, end, `${indent}${keyText}: ${valueText}${nl}`, nl);
}

/** Replaces an empty value (nothing, null, ~, {}) of `pair` with a one-entry block mapping. */
function fillEmpty(text: string, pair: Pair<Node, Node | null>, childIndent: string, entry: string): string {
  const keyEnd = range(pair.key)[1];
  let start = pair.value ? range(pair.value)[0] : keyEnd;
  const end = pair.value ? range(pair.value)[1] : keyEnd;
  const colon = text.indexOf(":", keyEnd);
  if (colon >= 0 && colon < start) start = colon + 1; // drop the blank between ":" and the old value
  const nl = text.includes("\r\n") ? "\r\n" : "\n";
  return splice(text, start, end, `${nl}${childIndent}${entry}`);
}

function isEmptyValue(v: Node | null): boolean {
  return v === null || (isScalar(v) && v.value === null) || (isMap(v) && v.items.length === 0);
}

function render(key: string, flowContext: boolean): string {
  return !flowContext && /^[A-Za-z0-9][-A-Za-z0-9_./]*$/.test(key) ? key : JSON.stringify(key);
}

/**
 * The manifest `text` with metadata.annotations[`key`] set to `value` (always double-quoted);
 * `annotations:` is created when absent. Nothing else changes. Throws MANIFEST naming `file`
 * when the text is not a pod manifest, CONFIG when the key is not a valid annotation key.
 */
export function setAnnotation(text: string, key: string, value: string, file: string): string {
  checkAnnotationKey(key);
  const { doc, metadata } = parseManifestDocument(text, file);
  const nl = text.includes("\r\n") ? "\r\n" : "\n";
  const quoted = JSON.stringify(value);
  const mdPair = (doc.contents as YAMLMap).items.find((p) => (p.key as { value?: unknown }).value === "metadata") as Pair<Node, Node>;
  const mdKeyCol = column(text, range(mdPair.key)[0]);
  const mdIndentCol = metadata.flow ? mdKeyCol + 2 : column(text, range(metadata.items[0]!.key as Node)[0]);
  const step = " ".repeat(Math.max(2, mdIndentCol - mdKeyCol));
  const annPair = metadata.items.find((p) => (p.key as { value?: unknown }).value === "annotations") as Pair<Node, Node | null> | undefined;
  let out: string;
  if (annPair === undefined) {
    if (metadata.flow) {
      out = appendToMap(text, metadata, "\"annotations\"", `{${JSON.stringify(key)}: ${quoted}}`, nl);
    } else {
      const indent = " ".repeat(mdIndentCol);
      out = insertLines(text, range(mdPair.key)[1], `${indent}annotations:${nl}${indent}${step}${render(key, false)}: ${quoted}${nl}`, nl);
    }
  } else if (isEmptyValue(annPair.value)) {
    out = fillEmpty(text, annPair, " ".repeat(column(text, range(annPair.key)[0])) + step, `${render(key, false)}: ${quoted}`);
  } else {
    const ann = annPair.value as YAMLMap;
    const existing = ann.items.find((p) => (p.key as { value?: unknown }).value === key) as Pair<Node, Node | null> | undefined;
    if (existing?.value) {
      const [s, e] = range(existing.value);
      const blank = s === e ? " " : ""; // `key:` with no value at all
      const ending = /\r?\n$/.exec(text.slice(s, e))?.[0] ?? ""; // a block scalar's range holds its line end
      out = splice(text, s, e, blank + quoted + ending);
    } else if (existing) {
      const e = range(existing.key)[1];
      const colon = text.indexOf(":", e);
      out = splice(text, colon + 1, colon + 1, ` ${quoted}`);
    } else {
      out = appendToMap(text, ann, render(key, ann.flow === true), quoted, nl);
    }
  }
  // The splice must have produced exactly the annotation: checked, not assumed.
  const check = parseManifestDocument(out, file).doc.getIn(["metadata", "annotations", key]);
  if (check !== value) throw new RenewCertsError("INTERNAL", `could not set annotation ${key} in ${file} without reformatting it: set it by hand, or report this manifest's shape`, { file });
  return out;
}

/** Sets annotation `key` to `value` in the manifest `file`, written atomically through a dot-file. */
export async function annotateManifest(file: string, key: string, value: string): Promise<void> {
  const text = await readText(file, "static pod manifest");
  await writeFileAtomic(file, setAnnotation(text, key, value, file), { what: "static pod manifest" });
}
