import { readFile } from "node:fs/promises";
import { intervalProblem } from "../policy/due.js";
import { Ajv, type ErrorObject } from "ajv";
import { LineCounter, isMap, isScalar, parseDocument } from "yaml";
import { RenewCertsError, isErrno } from "../errors.js";
import { DEFAULT_SETTINGS, type Settings } from "./settings.js";
import { SETTINGS_SCHEMA, SETTING_FIELDS, closestName, flagName } from "./schema.js";

/** Settings given as flags (values as parsed, validated like the file's). */
export type SettingFlags = { [K in keyof Settings]?: unknown };

/** Reads a file as text (the real default: fs.readFile). */
export type ReadText = (file: string) => Promise<string>;

const realRead: ReadText = (f) => readFile(f, "utf8");

let validator: ReturnType<Ajv["compile"]> | undefined;
function validate(data: unknown): ErrorObject[] {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(SETTINGS_SCHEMA);
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** Checks the renewal interval against the certificates' validity (the rule lives in policy/due.ts). */
export const validateInterval = intervalProblem;

/** One bad value: where it came from ("line 3: certificateRenewInterval", "--schedule") and why. */
interface Problem {
  where: string;
  message: string;
}

/** A value for people, as the file spells it: JSON, but a number as a number (Infinity stays Infinity). */
function show(v: unknown): string {
  return typeof v === "number" ? String(v) : JSON.stringify(v);
}

/**
 * Turns ajv errors into one problem per bad field; `where` names the field for people. A list's
 * problem names every bad entry and every entry given more than once, not only the first.
 */
function problemsOf(errors: ErrorObject[], data: Record<string, unknown>, where: (key: string) => string): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of errors) {
    if (e.keyword === "additionalProperties") {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      if (seen.has(key)) continue;
      seen.add(key);
      const near = closestName(key);
      out.push({ where: where(key), message: `unknown setting${near ? `: did you mean ${near}?` : `; known settings: ${Object.keys(SETTING_FIELDS).join(", ")}`}` });
      continue;
    }
    const key = e.instancePath.split("/")[1];
    if (key === undefined || seen.has(key)) continue;
    seen.add(key);
    const field = SETTING_FIELDS[key as keyof Settings];
    const value = data[key];
    const inList = errors.filter((x) => x.instancePath.startsWith(`/${key}/`) || (x.instancePath === `/${key}` && x.keyword === "uniqueItems"));
    if (!Array.isArray(value) || inList.length === 0) {
      out.push({ where: where(key), message: `must be ${field.expect} (got ${show(value)})` });
      continue;
    }
    const bad = [...new Set(inList.filter((x) => x.keyword !== "uniqueItems").map((x) => Number(x.instancePath.split("/")[2])))].sort((a, b) => a - b);
    const twice = [...new Set(value.filter((v, i) => value.findIndex((w) => JSON.stringify(w) === JSON.stringify(v)) !== i).map((v) => show(v)))];
    const got = [
      bad.length > 0 ? bad.map((i) => `${show(value[i])} (entry ${i + 1})`).join(", ") : "",
      twice.length > 0 ? `${twice.join(", ")} more than once` : "",
    ].filter(Boolean);
    out.push({ where: where(key), message: `must be ${field.expect}${twice.length > 0 ? ", without duplicates" : ""} (got ${got.join("; ")})` });
  }
  return out;
}

/** The text of a configuration file, parsed and checked against the schema. Pure. */
export function parseConfigText(text: string, file: string): { values: Partial<Settings>; lineOf: (key: string) => number | undefined; problems: string[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const detail = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new RenewCertsError("CONFIG", `configuration file ${file} is not valid YAML: ${pos ? `line ${pos.line}, column ${pos.col}: ` : ""}${detail}; fix the file and run again`, { file });
  }
  const keyLines = new Map<string, number>();
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      if (isScalar(pair.key) && pair.key.range) keyLines.set(String(pair.key.value), lines.linePos(pair.key.range[0]).line);
    }
  }
  const data: unknown = doc.toJS() ?? {};
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new RenewCertsError("CONFIG", `configuration file ${file} must be a mapping of setting: value (like certificateRenewInterval: 60); fix the file and run again`, { file });
  }
  const record = data as Record<string, unknown>;
  const lineOf = (key: string): number | undefined => keyLines.get(key);
  const where = (key: string): string => (lineOf(key) ? `line ${lineOf(key)}: ${key}` : key);
  const problems = problemsOf(validate(record), record, where).map((p) => `${p.where}: ${p.message}`);
  return { values: record as Partial<Settings>, lineOf, problems };
}

/** Throws one CONFIG error listing every problem; the first line names the source. */
function fail(source: string, problems: string[], file?: string): never {
  const n = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  throw new RenewCertsError("CONFIG", `${source} is invalid (${n}); fix it and run again:\n${problems.map((p) => `  ${p}`).join("\n")}`, file ? { file } : {});
}

/** Options of resolveSettings. */
export interface ResolveOptions {
  /** The configuration file; omitted: defaults and flags only. */
  configFile?: string;
  /** Settings given on the command line; they win over the file. */
  flags?: SettingFlags;
  read?: ReadText;
}

/**
 * The settings of a run: defaults < configuration file < flags, every value checked. Every bad
 * field of the file and the flags is reported at once in one RenewCertsError("CONFIG") whose first
 * line names the file.
 */
export async function resolveSettings(o: ResolveOptions = {}): Promise<Settings> {
  let fromFile: Partial<Settings> = {};
  let where = (key: string): string => flagName(key);
  const problems: string[] = [];
  if (o.configFile !== undefined) {
    const file = o.configFile;
    let text: string;
    try {
      text = await (o.read ?? realRead)(file);
    } catch (e) {
      if (isErrno(e, "ENOENT")) throw new RenewCertsError("CONFIG", `configuration file ${file} does not exist: write it with renew-certs install, or pass the right --config`, { file, cause: e });
      if (isErrno(e, "EACCES") || isErrno(e, "EPERM")) throw new RenewCertsError("PERMISSION", `configuration file ${file} cannot be read (permission denied): run renew-certs as root`, { file, cause: e });
      throw new RenewCertsError("CONFIG", `configuration file ${file} cannot be read: ${(e as Error).message}`, { file, cause: e });
    }
    const parsed = parseConfigText(text, file);
    fromFile = parsed.values;
    problems.push(...parsed.problems);
    where = (key) => (parsed.lineOf(key) ? `line ${parsed.lineOf(key)}: ${key}` : key);
  }
  const flags = Object.fromEntries(Object.entries(o.flags ?? {}).filter(([, v]) => v !== undefined));
  const flagProblems = problemsOf(validate(flags), flags, flagName).map((p) => `${p.where}: ${p.message}`);
  problems.push(...flagProblems);
  const source = o.configFile !== undefined ? `configuration file ${o.configFile}` : "the command line";
  if (problems.length > 0) fail(flagProblems.length === problems.length ? "the command line" : source, problems, o.configFile);
  const merged = { ...DEFAULT_SETTINGS, ...fromFile, ...flags } as Settings;
  const cross: [keyof Settings, string][] = [];
  const interval = validateInterval(merged.certificateRenewInterval, merged.validityDays);
  if (interval) cross.push(["certificateRenewInterval", interval]);
  if (merged.caRenewBeforeDays >= merged.caValidityDays) {
    cross.push(["caRenewBeforeDays", `must be less than caValidityDays (${merged.caValidityDays}) (got ${merged.caRenewBeforeDays}): every CA would be due right after its renewal`]);
  }
  if (merged.safetyMarginDays >= merged.validityDays) {
    cross.push(["safetyMarginDays", `must be less than validityDays (${merged.validityDays}) (got ${merged.safetyMarginDays}): every certificate would be due right after its renewal`]);
  }
  if (cross.length > 0) {
    const onlyFlags = cross.every(([k]) => k in flags);
    fail(onlyFlags ? "the command line" : source, cross.map(([k, m]) => `${k in flags ? flagName(k) : where(k)}: ${m}`), o.configFile);
  }
  return merged;
}

/** The configuration file's settings merged over the defaults; throws RenewCertsError("CONFIG") listing every bad field. */
export function loadConfig(file: string, read?: ReadText): Promise<Settings> {
  return resolveSettings({ configFile: file, ...(read ? { read } : {}) });
}

/** A numeric flag's text as a number when it looks like one, else as given (the schema then names it). */
export function numericFlag(text: string | undefined): number | string | undefined {
  return text !== undefined && /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}
