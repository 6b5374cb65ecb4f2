import { isDeepStrictEqual } from "node:util";
import type { Document } from "yaml";
import { additionsFor, isOwnCommand, isOwnFile, type Additions } from "./bootstrap.js";
import { ConfigSpecEditor, isUpToDate, LISTS } from "./config-spec.js";
import { controlPlaneOf, parseManifests, sourceName, type ControlPlaneDocument } from "./documents.js";
import { settingsFor, type PatchOptions } from "./options.js";
import { CannotSplice, SourceEditor } from "../util/yaml-splice.js";
import { clusterClassWarnings, rolloutWarnings } from "./warnings.js";

/** What `capi patch` produced: the YAML for stdout, and warnings for stderr. */
export interface PatchResult {
  output: string;
  warnings: string[];
  /** The control planes found, by label, and whether each was changed. */
  controlPlanes: { label: string; changed: boolean }[];
}

/**
 * Configures certificate renewal on every KubeadmControlPlane and KubeadmControlPlaneTemplate of
 * a multi-document YAML text (pure: text in, text out). Only the lines that change are touched:
 * every other document, field, comment and separator keeps its bytes. Running it again on its
 * own output returns that output unchanged; interval 0 removes what an earlier run added.
 */
export function patchDocuments(text: string, options: PatchOptions): PatchResult {
  const docs = parseManifests(text, options.source);
  const additions = additionsFor(settingsFor(options), options.agent);
  const enabling = options.intervalDays > 0;
  const editor = new SourceEditor(text);
  const warnings: string[] = [];
  const controlPlanes: PatchResult["controlPlanes"] = [];
  docs.forEach((doc, i) => {
    const cp = controlPlaneOf(doc, i + 1, options.source);
    if (!cp) {
      if (enabling) warnings.push(...clusterClassWarnings(doc, i + 1));
      return;
    }
    if (enabling) warnings.push(...rolloutWarnings(cp));
    const changed = patchControlPlane(cp, text, editor, additions, warnings, options.source);
    controlPlanes.push({ label: cp.label, changed });
  });
  return { output: editor.changed ? editor.apply() : text, warnings, controlPlanes };
}

function patchControlPlane(cp: ControlPlaneDocument, text: string, editor: SourceEditor, additions: Additions, warnings: string[], source?: string): boolean {
  const path = [...cp.specPath, "kubeadmConfigSpec"];
  const file = sourceName(source);
  const data = (cp.doc.toJS() as Record<string, unknown>) ?? {};
  if (isUpToDate(getIn(data, path), additions, `${file}: ${cp.label}: ${path.join(".")}`, file)) return false;
  const own = new SourceEditor(text);
  try {
    new ConfigSpecEditor(cp.doc, own).plan(path, additions);
    editor.absorb(own);
  } catch (e) {
    if (!(e instanceof CannotSplice)) throw e;
    // A layout that cannot be edited line by line (a JSON document, an unusual indentation):
    // the document is written again as JSON, which is YAML too.
    editor.absorb(rewriteAsJson(cp.doc, text, data, path, additions));
    if (!/^\s*[{[]/.test(text.slice(cp.doc.contents!.range![0]))) {
      warnings.push(`${cp.label}: its layout cannot be edited line by line, so it was written again as JSON; comments inside it are lost`);
    }
  }
  return true;
}

function getIn(value: unknown, path: string[]): unknown {
  let v = value;
  for (const k of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function rewriteAsJson(doc: Document.Parsed, text: string, data: Record<string, unknown>, path: string[], additions: Additions): SourceEditor {
  let at = data;
  for (const k of path) {
    const next = at[k];
    at = at[k] = next && typeof next === "object" ? (next as Record<string, unknown>) : {};
  }
  for (const list of LISTS) {
    const isOwn = list === "files" ? isOwnFile : isOwnCommand;
    const items = (at[list] as unknown[] | null | undefined) ?? [];
    if (isDeepStrictEqual(items.filter(isOwn), additions[list])) continue;
    const next = [...items.filter((v) => !isOwn(v)), ...additions[list]];
    if (next.length > 0) at[list] = next;
    else delete at[list];
  }
  const edit = new SourceEditor(text);
  const range = doc.contents!.range!;
  edit.replace(range[0], range[1], JSON.stringify(data, null, 2));
  return edit;
}
