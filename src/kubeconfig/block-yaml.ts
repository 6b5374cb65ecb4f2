// The YAML that kubeadm, kubectl and client-go write for a kubeconfig is a small, regular subset:
// block mappings and sequences, simple keys, plain string scalars, `{}` and `[]`. Reading that
// subset needs no YAML parser, and `renew-certs status` reads five kubeconfigs on every call, so
// this reader takes it and declines everything else (comments, quotes, anchors, tags, flow
// collections, multi-line or non-string scalars, tabs…), for which the caller uses the yaml
// library. A test checks that whatever it accepts, it reads exactly as the yaml library does.
// It only reads: a renewal edits kubeconfigs as it edits every YAML file (util/yaml-splice.ts).
// Why it is kept, measured: docs/design.md, "What status loads".

/** A value of the subset: a string, a list or a mapping. */
export type Value = string | Value[] | { [key: string]: Value };

/** Thrown inside the reader when the text leaves the subset; never escapes it. */
class Decline extends Error {}

const KEY = /^([A-Za-z_][A-Za-z0-9_./-]*):(?: +(.*))?$/;
// A plain scalar that YAML 1.2's core schema reads as a string, and that cannot start a comment,
// a flow collection, an alias, a tag, a quoted or a block scalar, or another mapping.
// Linear: each character is an ordinary one, or a ':' or '#' followed by an ordinary one.
const SAFE_STRING = /^[A-Za-z_/](?:[^\s#:]|[:#](?=[^\s#:]))*$/;
const NOT_A_STRING = /^(?:true|True|TRUE|false|False|FALSE|null|Null|NULL|~)$/;

function scalar(text: string): Value {
  if (text === "{}") return {};
  if (text === "[]") return [];
  if (!SAFE_STRING.test(text) || NOT_A_STRING.test(text) || text.endsWith(":")) throw new Decline();
  return text;
}

/**
 * The value of `text` when it is a kubeconfig-style block YAML mapping; `undefined` when it uses
 * anything beyond that subset (the yaml library must read it then).
 */
export function readPlainBlockYaml(text: string): Record<string, Value> | undefined {
  if (/[\t\r\uFEFF]/.test(text)) return undefined;
  const lines: { indent: number; body: string }[] = [];
  for (const raw of text.split("\n")) {
    const body = raw.trimEnd();
    if (body === "") continue;
    if (body === "---" || body === "...") return undefined;
    const indent = body.length - body.trimStart().length;
    lines.push({ indent, body: body.slice(indent) });
  }
  let i = 0;

  function block(indent: number): Value {
    const line = lines[i];
    if (!line || line.indent !== indent) throw new Decline();
    return line.body.startsWith("- ") || line.body === "-" ? sequence(indent) : mapping(indent);
  }

  function mapping(indent: number): Record<string, Value> {
    const out: Record<string, Value> = {};
    while (i < lines.length && lines[i]!.indent === indent && !lines[i]!.body.startsWith("- ")) {
      const m = KEY.exec(lines[i]!.body);
      if (!m || Object.hasOwn(out, m[1]!) || m[1] === "__proto__" || NOT_A_STRING.test(m[1]!)) throw new Decline();
      i++;
      const next = lines[i];
      if (m[2] !== undefined) out[m[1]!] = scalar(m[2]);
      else if (next && next.indent > indent) out[m[1]!] = block(next.indent);
      else if (next && next.indent === indent && next.body.startsWith("- ")) out[m[1]!] = sequence(indent);
      else throw new Decline(); // a null value
    }
    if (i < lines.length && lines[i]!.indent > indent) throw new Decline();
    return out;
  }

  function sequence(indent: number): Value[] {
    const out: Value[] = [];
    while (i < lines.length && lines[i]!.indent === indent && lines[i]!.body.startsWith("- ")) {
      const line = lines[i]!;
      const rest = line.body.slice(2);
      const inner = indent + 2 + (rest.length - rest.trimStart().length);
      const item = rest.trimStart();
      if (KEY.test(item)) {
        // "- key: value": a mapping whose first key sits on the dash's line.
        lines[i] = { indent: inner, body: item };
        out.push(mapping(inner));
      } else {
        if (item.startsWith("-")) throw new Decline();
        out.push(scalar(item));
        i++;
      }
    }
    if (i < lines.length && lines[i]!.indent > indent) throw new Decline();
    return out;
  }

  try {
    if (lines.length === 0) return undefined;
    const top = block(0);
    if (i !== lines.length || Array.isArray(top) || typeof top !== "object") return undefined;
    return top;
  } catch (e) {
    if (e instanceof Decline) return undefined;
    throw e;
  }
}
