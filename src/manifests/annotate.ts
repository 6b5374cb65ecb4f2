import { isMap, isScalar, type Node, type Pair, type YAMLMap } from "yaml";
import { RenewCertsError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { readText } from "../util/fs.js";
import { parseManifestDocument } from "./manifest.js";
import { SourceEditor, appendToMap, rangeOf as range, replaceValue } from "../util/yaml-splice.js";

// The edit is a splice of the source text at the offsets the yaml Document reports (the one YAML
// editor, util/yaml-splice.ts), not a re-serialisation: every byte outside the annotation stays as
// it was (comments, key order, quoting, indentation, line endings), so `diff` shows exactly the
// annotation lines.

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

/** Replaces an empty value (nothing, null, ~, {}) of `pair` with a one-entry block mapping. */
function fillEmpty(ed: SourceEditor, pair: Pair<Node, Node | null>, childIndent: string, entry: string): void {
  const keyEnd = range(pair.key)[1];
  let start = pair.value ? range(pair.value)[0] : keyEnd;
  const end = pair.value ? range(pair.value)[1] : keyEnd;
  const colon = ed.text.indexOf(":", keyEnd);
  if (colon >= 0 && colon < start) start = colon + 1; // drop the blank between ":" and the old value
  ed.replace(start, end, `${ed.nl}${childIndent}${entry}`);
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
  const ed = new SourceEditor(text);
  const quoted = JSON.stringify(value);
  const mdPair = (doc.contents as YAMLMap).items.find((p) => (p.key as { value?: unknown }).value === "metadata") as Pair<Node, Node>;
  const mdKeyCol = ed.column(range(mdPair.key)[0]);
  const mdIndentCol = metadata.flow ? mdKeyCol + 2 : ed.column(range(metadata.items[0]!.key as Node)[0]);
  const step = " ".repeat(Math.max(2, mdIndentCol - mdKeyCol));
  const annPair = metadata.items.find((p) => (p.key as { value?: unknown }).value === "annotations") as Pair<Node, Node | null> | undefined;
  if (annPair === undefined) {
    if (metadata.flow) {
      appendToMap(ed, metadata, "\"annotations\"", `{${JSON.stringify(key)}: ${quoted}}`);
    } else {
      const indent = " ".repeat(mdIndentCol);
      ed.insert(ed.lineEndAt(range(mdPair.key)[1]), `${indent}annotations:${ed.nl}${indent}${step}${render(key, false)}: ${quoted}${ed.nl}`);
    }
  } else if (isEmptyValue(annPair.value)) {
    fillEmpty(ed, annPair, " ".repeat(ed.column(range(annPair.key)[0])) + step, `${render(key, false)}: ${quoted}`);
  } else {
    const ann = annPair.value as YAMLMap;
    const existing = ann.items.find((p) => (p.key as { value?: unknown }).value === key) as Pair<Node, Node | null> | undefined;
    if (existing) {
      replaceValue(ed, existing, quoted);
    } else {
      appendToMap(ed, ann, render(key, ann.flow === true), quoted);
    }
  }
  const out = ed.apply();
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
