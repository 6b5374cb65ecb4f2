import { Document, isMap, isScalar, isSeq, visit, type Node, type Pair, type YAMLMap, type YAMLSeq } from "yaml";

// The one way renew-certs edits YAML it did not write: static pod manifests (the restart
// annotation), kubeconfigs (new credentials) and Cluster API documents (capi patch) are changed by
// splicing their text at the offsets the yaml library's nodes report, so every byte outside the
// edit stays as it was.

/** Thrown when a layout is too unusual to edit line by line; the caller re-renders instead. */
export class CannotSplice extends Error {}

/** Options for new YAML text: no folding, no padding in flow collections. */
const RENDER = { lineWidth: 0, minContentWidth: 0, flowCollectionPadding: false } as const;

/**
 * Edits of a YAML text, planned against the original offsets (from the `yaml` package's node
 * ranges) and applied at once. Whatever is not edited keeps its exact bytes: comments, quoting,
 * indentation, flow style, line endings, `---` separators.
 */
export class SourceEditor {
  private readonly splices: { start: number; end: number; text: string; order: number }[] = [];
  /** The text's line ending: CRLF when it has any, else LF. */
  readonly nl: string;

  constructor(readonly text: string) {
    this.nl = text.includes("\r\n") ? "\r\n" : "\n";
  }

  /** The offset where the line holding `offset` starts. */
  lineStart(offset: number): number {
    return this.text.lastIndexOf("\n", offset - 1) + 1;
  }

  /** The column (0-based) of `offset` on its line. */
  column(offset: number): number {
    return offset - this.lineStart(offset);
  }

  /** The offset just after the line that holds `offset` (a line end just before it counts). */
  lineEndAt(offset: number): number {
    if (offset > 0 && this.text[offset - 1] === "\n") return offset;
    const nl = this.text.indexOf("\n", offset);
    return nl < 0 ? this.text.length : nl + 1;
  }

  /** The offset just after the line on which `node` (with its trailing comment) ends. */
  lineEndAfter(node: Node): number {
    return this.lineEndAt(node.range![2]);
  }

  /** The start of the line of `node`, which must hold only indentation (and `- ` when `item`). */
  ownLineStart(node: Node, item: boolean): number {
    const start = this.lineStart(node.range![0]);
    const prefix = this.text.slice(start, node.range![0]);
    if (!(item ? /^ *- +$/ : /^ *$/).test(prefix)) throw new CannotSplice(`"${prefix}" before a node`);
    return start;
  }

  /** Inserts `text` (whole lines) at `at`; insertions at one offset keep their planned order. */
  insert(at: number, text: string): void {
    const lead = at === this.text.length && at > 0 && this.text[at - 1] !== "\n" ? this.nl : "";
    this.splices.push({ start: at, end: at, text: lead + text, order: this.splices.length });
  }

  /** Removes the text from `start` to `end`. */
  remove(start: number, end: number): void {
    this.splices.push({ start, end, text: "", order: this.splices.length });
  }

  /** Replaces the text from `start` to `end`. */
  replace(start: number, end: number, text: string): void {
    this.splices.push({ start, end, text, order: this.splices.length });
  }

  /** Takes over the edits planned by `other` (made for the same text), after this one's. */
  absorb(other: SourceEditor): void {
    for (const s of other.splices) this.splices.push({ ...s, order: this.splices.length });
  }

  /** True when an edit was planned. */
  get changed(): boolean {
    return this.splices.length > 0;
  }

  /** The text with every planned edit applied. */
  apply(): string {
    const sorted = [...this.splices].sort((a, b) => b.start - a.start || b.order - a.order);
    let out = this.text;
    for (const s of sorted) out = out.slice(0, s.start) + s.text + out.slice(s.end);
    return out;
  }
}

type Range = [number, number, number];

/** A node's source range; every node the yaml library parses from text has one. */
export function rangeOf(n: Node | null | undefined): Range {
  const r = (n as { range?: Range } | null | undefined)?.range;
  if (!r) throw new CannotSplice("a YAML node without a source range");
  return r;
}

/** Plans replacing the value of `pair` with `valueText` (a scalar as it is to be written). */
export function replaceValue(ed: SourceEditor, pair: Pair<Node, Node | null>, valueText: string): void {
  if (pair.value) {
    const [s, e] = rangeOf(pair.value);
    const blank = s === e ? " " : ""; // `key:` with no value at all
    const ending = /\r?\n$/.exec(ed.text.slice(s, e))?.[0] ?? ""; // a block scalar's range holds its line end
    ed.replace(s, e, blank + valueText + ending);
  } else {
    const colon = ed.text.indexOf(":", rangeOf(pair.key)[1]);
    ed.replace(colon + 1, colon + 1, ` ${valueText}`);
  }
}

/** Plans appending `key: value` to a non-empty mapping, block (a line of its own) or flow. */
export function appendToMap(ed: SourceEditor, map: YAMLMap, keyText: string, valueText: string): void {
  const last = map.items[map.items.length - 1] as Pair<Node, Node | null>;
  if (map.flow) {
    const end = last.value ? rangeOf(last.value)[1] : rangeOf(last.key)[1];
    ed.replace(end, end, `, ${keyText}: ${valueText}`);
    return;
  }
  const indent = " ".repeat(ed.column(rangeOf(map.items[0]!.key as Node)[0]));
  const end = last.value ? rangeOf(last.value)[2] : rangeOf(last.key)[2];
  ed.insert(ed.lineEndAt(end), `${indent}${keyText}: ${valueText}${ed.nl}`);
}

/** The pair of `map` whose key is the string `key`. */
export function findPair(map: YAMLMap, key: string): Pair<Node, Node | null> | undefined {
  return (map.items as Pair<Node, Node | null>[]).find((p) => isScalar(p.key) && p.key.value === key);
}

/** True for a block (not flow) mapping. */
export function isBlockMap(node: unknown): node is YAMLMap {
  return isMap(node) && !node.flow;
}

/** True for a block (not flow) sequence. */
export function isBlockSeq(node: unknown): node is YAMLSeq {
  return isSeq(node) && !node.flow;
}

/**
 * Whether the document indents block sequences under their key (`key:\n  - a`) or not
 * (`key:\n- a`): new lists follow the document's own habit (the majority; kubectl's when none).
 */
export function indentsSequences(doc: Document, editor: SourceEditor): boolean {
  let indented = 0;
  let flush = 0;
  visit(doc, {
    Pair(_, pair) {
      const first = isBlockSeq(pair.value) ? (pair.value.items[0] as Node | undefined) : undefined;
      if (!first?.range || !(pair.key as Node | null)?.range) return;
      const lineStart = editor.lineStart(first.range[0]);
      const dash = editor.text.slice(lineStart, first.range[0]).indexOf("-");
      if (dash < 0) return;
      if (dash > editor.column((pair.key as Node).range![0])) indented++;
      else flush++;
    },
  });
  return indented > flush;
}

/** Renders a node (a mapping or a sequence) as block YAML lines, each indented by `column`. */
export function renderLines(node: Node, column: number, indentSeq: boolean): string {
  const doc = new Document();
  doc.contents = node;
  const text = doc.toString({ ...RENDER, indentSeq });
  const pad = " ".repeat(column);
  return text.split("\n").map((l) => (l === "" ? l : pad + l)).join("\n");
}
