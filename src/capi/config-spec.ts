import { isDeepStrictEqual } from "node:util";
import { Document, isAlias, isMap, isScalar, isSeq, Pair, Scalar, YAMLMap, YAMLSeq, type Node } from "yaml";
import { RenewCertsError } from "../errors.js";
import { isOwnCommand, isOwnFile, type Additions } from "./bootstrap.js";
import { CannotSplice, findPair, indentsSequences, isBlockMap, isBlockSeq, renderLines, type SourceEditor } from "../util/yaml-splice.js";

/** The three lists of a kubeadmConfigSpec that `capi patch` owns entries in, in the order it writes them. */
export const LISTS = ["files", "preKubeadmCommands", "postKubeadmCommands"] as const;
type ListName = (typeof LISTS)[number];

const IS_OWN: Record<ListName, (v: unknown) => boolean> = { files: isOwnFile, preKubeadmCommands: isOwnCommand, postKubeadmCommands: isOwnCommand };

/** A kubeadmConfigSpec's lists, checked: each absent or a list. */
function currentLists(spec: unknown, where: string, file?: string): Record<ListName, unknown[]> {
  const out = {} as Record<ListName, unknown[]>;
  for (const list of LISTS) {
    const v = spec && typeof spec === "object" ? (spec as Record<string, unknown>)[list] : undefined;
    if (v !== undefined && v !== null && !Array.isArray(v)) {
      throw new RenewCertsError("MANIFEST", `${where}.${list} is not a list: fix the manifest and run again`, { file });
    }
    out[list] = (v as unknown[] | null | undefined) ?? [];
  }
  return out;
}

/**
 * True when the kubeadmConfigSpec (plain data) already holds exactly `additions`: nothing to write.
 * Throws a MANIFEST error (prefixed `where`, about `file`) when it or one of its lists has the wrong shape.
 */
export function isUpToDate(spec: unknown, additions: Additions, where: string, file?: string): boolean {
  if (spec !== undefined && spec !== null && (typeof spec !== "object" || Array.isArray(spec))) {
    throw new RenewCertsError("MANIFEST", `${where} is not a mapping: fix the manifest and run again`, { file });
  }
  const lists = currentLists(spec, where, file);
  return LISTS.every((l) => isDeepStrictEqual(lists[l].filter(IS_OWN[l]), additions[l]));
}

/** The YAML node of one added entry: file contents as literal blocks, so they stay readable. */
function entryNode(doc: Document, value: unknown): Node {
  const node = doc.createNode(value) as Node;
  if (isMap(node)) {
    const content = node.get("content", true);
    if (isScalar(content) && typeof content.value === "string" && content.value.includes("\n")) content.type = Scalar.BLOCK_LITERAL;
  }
  return node;
}

function seqOf(doc: Document, values: unknown[]): YAMLSeq {
  const seq = new YAMLSeq();
  seq.items = values.map((v) => entryNode(doc, v));
  return seq;
}

/**
 * Puts `desired` into one list of a kubeadmConfigSpec node through the Document API: drops the
 * entries an earlier patch added, appends the new ones, removes the list when that leaves it empty.
 * Used where the layout is not plain block YAML (flow `{}`/`[]`, null values, missing levels).
 */
function applyListToNode(doc: Document, spec: YAMLMap, list: ListName, desired: unknown[]): void {
  const pair = findPair(spec, list);
  const seq = isSeq(pair?.value) ? pair!.value : new YAMLSeq();
  const own = (seq.items as Node[]).filter((n) => IS_OWN[list](n.toJS(doc)));
  if (pair && isDeepStrictEqual(own.map((n) => n.toJS(doc)), desired)) return;
  seq.items = seq.items.filter((n) => !own.includes(n as Node));
  seq.items.push(...seqOf(doc, desired).items);
  if (seq.items.length === 0) {
    if (pair) spec.items.splice(spec.items.indexOf(pair as Pair), 1);
    return;
  }
  seq.flow = false;
  if (pair) pair.value = seq;
  else spec.items.push(new Pair(new Scalar(list), seq));
}

/** applyListToNode for every list, and the mapping made block style. */
function applyToNode(doc: Document, spec: YAMLMap, additions: Additions): void {
  spec.flow = false;
  for (const list of LISTS) applyListToNode(doc, spec, list, additions[list]);
}

/** Edits one kubeadmConfigSpec line by line. `path` leads from the document root to it. */
export class ConfigSpecEditor {
  private readonly indentSeq: boolean;

  constructor(private readonly doc: Document, private readonly editor: SourceEditor) {
    this.indentSeq = indentsSequences(doc, editor);
  }

  /** Plans the edits that put `additions` into the kubeadmConfigSpec at `path`. */
  plan(path: string[], additions: Additions): void {
    const root: unknown = this.doc.contents;
    if (!isBlockMap(root)) throw new CannotSplice("the document is not a block mapping");
    let map: YAMLMap = root;
    let parent: YAMLMap = root;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const pair = findPair(map, key);
      if (!pair) {
        // Missing levels (usually kubeadmConfigSpec itself) are added whole, at the end of their parent.
        const fresh = new YAMLMap();
        let inner = fresh;
        for (const k of path.slice(i + 1)) {
          const m = new YAMLMap();
          inner.items.push(new Pair(new Scalar(k), m));
          inner = m;
        }
        applyToNode(this.doc, inner, additions);
        if (inner.items.length > 0) this.insertPair(map, key, fresh);
        return;
      }
      const child: unknown = pair.value;
      // An alias shares its value with another place: editing it here would edit both.
      if (isAlias(child)) throw new CannotSplice(`${key} is an alias`);
      if (isBlockMap(child)) {
        parent = map;
        map = child;
        continue;
      }
      // A flow mapping or a null: that pair is re-rendered as block YAML, in place.
      const value: YAMLMap = isMap(child) ? child : new YAMLMap();
      let inner: YAMLMap = value;
      for (const k of path.slice(i + 1)) {
        inner.flow = false;
        const p = findPair(inner, k);
        const next = isMap(p?.value) ? p!.value : new YAMLMap();
        if (p) p.value = next;
        else inner.items.push(new Pair(new Scalar(k), next));
        inner = next;
      }
      applyToNode(this.doc, inner, additions);
      this.replacePair(pair, value);
      return;
    }
    if (this.leavesNothing(map, additions)) {
      // The kubeadmConfigSpec held only what an earlier patch added (v1beta2 refuses an empty one).
      const pair = findPair(parent, path[path.length - 1]!)!;
      this.editor.remove(this.editor.ownLineStart(pair.key, false), this.editor.lineEndAfter(map));
      return;
    }
    // Entries appended to an existing list first: a list that ends the mapping ends where new
    // lists are inserted, and its entries must come before them.
    const present = LISTS.filter((l) => findPair(map, l));
    for (const list of [...present, ...LISTS.filter((l) => !present.includes(l))]) this.planList(map, list, additions[list]);
  }

  private leavesNothing(spec: YAMLMap, additions: Additions): boolean {
    return (spec.items as Pair<Node, Node | null>[]).every((p) => {
      const list = LISTS.find((l) => isScalar(p.key) && p.key.value === l);
      return list !== undefined && additions[list].length === 0 && isSeq(p.value) && p.value.items.every((n) => IS_OWN[list]((n as Node).toJS(this.doc)));
    });
  }

  private planList(spec: YAMLMap, list: ListName, desired: unknown[]): void {
    const pair = findPair(spec, list);
    const seq = pair?.value;
    if (isAlias(seq) || (isSeq(seq) && seq.items.some((n) => isAlias(n)))) throw new CannotSplice(`${list} holds an alias`);
    const items = isSeq(seq) ? (seq.items as Node[]) : [];
    const own = items.filter((n) => IS_OWN[list](n.toJS(this.doc)));
    if (isDeepStrictEqual(own.map((n) => n.toJS(this.doc)), desired)) return;
    if (!pair) {
      this.insertPair(spec, list, seqOf(this.doc, desired));
      return;
    }
    if (!isBlockSeq(seq)) {
      // `files: []`, `files:` or a flow list: re-rendered as a block list, in place.
      const holder = new YAMLMap();
      holder.items.push(new Pair(new Scalar(list), seq));
      applyListToNode(this.doc, holder, list, desired);
      const kept = findPair(holder, list);
      if (kept) this.replacePair(pair, kept.value as Node);
      else this.editor.remove(this.editor.ownLineStart(pair.key, false), this.editor.lineEndAfter(seq ?? pair.key));
      return;
    }
    if (own.length === items.length && desired.length === 0) {
      this.editor.remove(this.editor.ownLineStart(pair.key, false), this.editor.lineEndAfter(seq));
      return;
    }
    const firstLine = this.editor.ownLineStart(items[0]!, true);
    const dash = this.editor.text.slice(firstLine, items[0]!.range![0]).indexOf("-");
    for (const n of own) this.editor.remove(this.editor.ownLineStart(n, true), this.editor.lineEndAfter(n));
    if (desired.length > 0) this.editor.insert(this.editor.lineEndAfter(seq), renderLines(seqOf(this.doc, desired), dash, this.indentSeq));
  }

  /** Adds `key: value` as the last entry of the block mapping `map`. */
  private insertPair(map: YAMLMap, key: string, value: Node): void {
    const first = (map.items[0] as Pair<Node, unknown> | undefined)?.key;
    if (!first?.range) throw new CannotSplice("an empty block mapping");
    const holder = new YAMLMap();
    holder.items.push(new Pair(new Scalar(key), value));
    this.editor.insert(this.editor.lineEndAfter(map), renderLines(holder, this.editor.column(first.range[0]), this.indentSeq));
  }

  /** Replaces the lines of `pair` with `key: value` rendered as block YAML at the same column. */
  private replacePair(pair: Pair<Node, Node | null>, value: Node): void {
    const start = this.editor.ownLineStart(pair.key, false);
    const end = this.editor.lineEndAfter(pair.value ?? pair.key);
    // A fresh key: comments above the pair belong to the lines that stay.
    const key = new Scalar((pair.key as Scalar).value);
    if (isScalar(pair.key)) key.type = pair.key.type;
    const holder = new YAMLMap();
    holder.items.push(new Pair(key, value));
    this.editor.replace(start, end, renderLines(holder, this.editor.column(pair.key.range![0]), this.indentSeq));
  }
}
