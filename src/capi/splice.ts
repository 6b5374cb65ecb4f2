import { Document, isMap, isScalar, isSeq, visit, type Node, type Pair, type YAMLMap, type YAMLSeq } from "yaml";

/** Thrown when a layout is too unusual to edit line by line; the caller re-renders instead. */
export class CannotSplice extends Error {}

/** Options for new YAML text: no folding, no padding in flow collections. */
const RENDER = { lineWidth: 0, minContentWidth: 0, flowCollectionPadding: false } as const;

/**
 * Line-level edits of a YAML text, planned against the original offsets (from the `yaml`
 * package's node ranges) and applied at once. Whatever is not edited keeps its exact bytes:
 * comments, quoting, indentation, flow style, `---` separators.
 */
export class SourceEditor {
  private readonly splices: { start: number; end: number; text: string; order: number }[] = [];

  constructor(readonly text: string) {}

  /** The offset where the line holding `offset` starts. */
  lineStart(offset: number): number {
    return this.text.lastIndexOf("\n", offset - 1) + 1;
  }

  /** The column (0-based) of `offset` on its line. */
  column(offset: number): number {
    return offset - this.lineStart(offset);
  }

  /** The offset just after the line on which `node` (with its trailing comment) ends. */
  lineEndAfter(node: Node): number {
    const end = node.range![2];
    if (end > 0 && this.text[end - 1] === "\n") return end;
    const nl = this.text.indexOf("\n", end);
    return nl < 0 ? this.text.length : nl + 1;
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
    const lead = at === this.text.length && at > 0 && this.text[at - 1] !== "\n" ? "\n" : "";
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
