import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RenewCertsError } from "../errors.js";
import { DEFAULT_SETTINGS, type Settings } from "./settings.js";
import { loadConfig, numericFlag, parseConfigText, resolveSettings, validateInterval } from "./load.js";
import { SETTINGS_SCHEMA, SETTING_FIELDS, SETTING_NAMES, closestName, flagName } from "./schema.js";
import { renderConfigFile } from "../host/files.js";

const FILE = "/etc/renew-certs/config.yaml";
const fromText = (text: string): ((f: string) => Promise<string>) => async () => text;

/** The CONFIG error that loading `text` throws. */
async function configError(text: string): Promise<RenewCertsError> {
  try {
    await loadConfig(FILE, fromText(text));
  } catch (e) {
    assert.ok(e instanceof RenewCertsError, String(e));
    return e;
  }
  assert.fail(`no error for:\n${text}`);
}

test("a file written by renderConfigFile loads back as the same settings", async () => {
  const s: Settings = { ...DEFAULT_SETTINGS, certificateRenewInterval: 90, schedule: "*-*-* 03:00:00", manifests: ["kube-apiserver", "etcd"], nodeName: "cp-1" };
  assert.deepEqual(await loadConfig(FILE, fromText(renderConfigFile(s))), s);
});

test("the rendered configuration file comments every setting with its default", () => {
  const text = renderConfigFile({ ...DEFAULT_SETTINGS });
  for (const k of SETTING_NAMES) {
    assert.match(text, new RegExp(`\\n# Default: [^\\n]*\\n${k}:`), `${k} has a comment with its default right above it`);
  }
  assert.match(text, /# Default: 60\ncertificateRenewInterval: 60\n/);
});

test("an empty file and a partial file take the defaults for what they leave out", async () => {
  assert.deepEqual(await loadConfig(FILE, fromText("")), DEFAULT_SETTINGS);
  assert.deepEqual(await loadConfig(FILE, fromText("# only comments\n")), DEFAULT_SETTINGS);
  const s = await loadConfig(FILE, fromText("certificateRenewInterval: 30\n"));
  assert.equal(s.certificateRenewInterval, 30);
  assert.equal(s.validityDays, 365);
});

// One row per bad field: the value, and what the one error line must say.
const BAD_FIELDS: [string, string, RegExp][] = [
  ["certificateRenewInterval", "-1", /line 1: certificateRenewInterval: must be a whole number of days, from 0 to 3650 \(ten years\) \(got -1\)/],
  ["certificateRenewInterval", "1.5", /certificateRenewInterval: must be a whole number of days, from 0 to 3650 \(ten years\) \(got 1.5\)/],
  ["certificateRenewInterval", "sixty", /certificateRenewInterval: must be a whole number of days, from 0 to 3650 \(ten years\) \(got "sixty"\)/],
  ["certificateRenewInterval", "360", /certificateRenewInterval: must be less than 358 days \(got 360\): certificates are valid 365 days/],
  ["safetyMarginDays", "-3", /safetyMarginDays: must be a whole number of days, from 0 to 3650 \(ten years\) \(got -3\)/],
  ["safetyMarginDays", "400", /safetyMarginDays: must be less than validityDays \(365\)/],
  ["validityDays", "0", /validityDays: must be a whole number of days, from 1 to 3650 \(ten years\) \(got 0\)/],
  ["caRenewBeforeDays", "3650", /caRenewBeforeDays: must be less than caValidityDays \(3650\) \(got 3650\)/],
  ["caRenewBeforeDays", "-1", /caRenewBeforeDays: must be a whole number of days, from 0 to 3650 \(ten years\) \(got -1\)/],
  ["caValidityDays", "40000", /caValidityDays: must be a whole number of days, from 1 to 36500 \(a hundred years\) \(got 40000\)/],
  ["schedule", '""', /schedule: must be a systemd calendar expression such as daily/],
  ["schedule", "[daily]", /schedule: must be a systemd calendar expression .* \(got \["daily"\]\)/],
  ["randomizedDelaySeconds", "1h", /randomizedDelaySeconds: must be a whole number of seconds, from 0 to 86400 \(one day\) \(got "1h"\)/],
  ["manifests", "kube-apiserver", /manifests: must be a list of manifest base names/],
  ["manifests", "[kube-apiserver.yaml]", /manifests: must be a list of manifest base names such as kube-apiserver \(got "kube-apiserver.yaml" \(entry 1\)\)/],
  ["manifests", "[kube-scheduler, kube-scheduler]", /manifests: must be a list of manifest base names such as kube-apiserver, without duplicates \(got "kube-scheduler" more than once\)/],
  ["annotationKey", "'konvoy.d2iq.io/restarted At'", /annotationKey: must be a Kubernetes annotation key/],
  ["healthTimeoutSeconds", "0", /healthTimeoutSeconds: must be a whole number of seconds, from 1 to 3600 \(one hour\) \(got 0\)/],
  ["fallbackAfterSeconds", "0", /fallbackAfterSeconds: must be a whole number of seconds, from 1 to 3600 \(one hour\) \(got 0\)/],
  ["backupDir", "backups", /backupDir: must be an absolute path \(got "backups"\)/],
  ["backupsKept", "0", /backupsKept: must be a whole number, from 1 to 1000 \(a thousand\) \(got 0\)/],
  ["metricsFile", "/var/lib/node_exporter/renew.txt", /metricsFile: must be an absolute path ending in .prom, or ""/],
  ["lockTimeoutSeconds", "-1", /lockTimeoutSeconds: must be a whole number of seconds, from 0 to 86400 \(one day\)/],
  ["nodeName", "CP_1", /nodeName: must be a lowercase DNS name, or "" \(got "CP_1"\)/],
  ["leaseWaitSeconds", "true", /leaseWaitSeconds: must be a whole number of seconds, from 0 to 86400 \(one day\) \(got true\)/],
  ["refreshRootKubeconfig", "yes", /refreshRootKubeconfig: must be true or false \(got "yes"\)/],
  ["restartMode", "none", /restartMode: must be all or minimal \(got "none"\)/],
];

for (const [key, value, expected] of BAD_FIELDS) {
  test(`${key}: ${value} is refused with one error naming the field and the file`, async () => {
    const e = await configError(`${key}: ${value}\n`);
    assert.equal(e.code, "CONFIG");
    assert.equal(e.file, FILE);
    const [first, ...rest] = e.message.split("\n");
    assert.equal(first, `configuration file ${FILE} is invalid (1 problem); fix it and run again:`);
    assert.equal(rest.length, 1, e.message);
    assert.match(rest[0]!, expected);
  });
}

test("every setting has at least one bad-value test", () => {
  for (const k of SETTING_NAMES) assert.ok(BAD_FIELDS.some(([key]) => key === k), `no bad-value test for ${k}`);
});

// Every whole-number setting has bounds: its minimum and maximum pass the schema, one less and
// one more (and 1e9, a typo's size) are refused with the file, the line, the field, the value and
// the range; the same values as flags are refused naming the flag.
const NUMERIC = SETTING_NAMES.filter((k) => SETTING_FIELDS[k].schema["type"] === "integer");

test("every whole-number setting has a range, and the JSON schema carries it", () => {
  assert.deepEqual(NUMERIC, ["certificateRenewInterval", "safetyMarginDays", "validityDays", "caRenewBeforeDays", "caValidityDays", "randomizedDelaySeconds", "healthTimeoutSeconds", "fallbackAfterSeconds", "backupsKept", "lockTimeoutSeconds", "leaseWaitSeconds"]);
  for (const k of NUMERIC) {
    const r = SETTING_FIELDS[k].range;
    assert.ok(r && r.min < r.max, `${k} has a range`);
    assert.deepEqual([SETTING_FIELDS[k].schema["minimum"], SETTING_FIELDS[k].schema["maximum"]], [r.min, r.max]);
    const d = DEFAULT_SETTINGS[k] as number;
    assert.ok(d >= r.min && d <= r.max, `the default of ${k} is in its range`);
  }
});

for (const k of NUMERIC) {
  const r = SETTING_FIELDS[k].range!;
  test(`${k} takes ${r.min} to ${r.max} and refuses ${r.min - 1}, ${r.max + 1} and 1e9 with its range, from the file and as a flag`, async () => {
    for (const ok of [r.min, r.max]) assert.deepEqual(parseConfigText(`# a comment\n${k}: ${ok}\n`, FILE).problems, [], `${k}: ${ok}`);
    const unit = r.unit === "backups" ? "a whole number" : `a whole number of ${r.unit}`;
    const range = `${unit}, from ${r.min} to ${r.max} \\(${r.maxIs}\\)`;
    for (const [text, shown] of [[String(r.min - 1), String(r.min - 1)], [String(r.max + 1), String(r.max + 1)], ["1e9", "1000000000"]] as const) {
      const e = await configError(`# a comment\n${k}: ${text}\n`);
      assert.equal(e.file, FILE);
      assert.match(e.message, new RegExp(`^configuration file ${FILE} is invalid \\(1 problem\\); fix it and run again:\n {2}line 2: ${k}: must be ${range} \\(got ${shown}\\)$`));
      await assert.rejects(resolveSettings({ flags: { [k]: Number(text) } }), (f: RenewCertsError) =>
        f.code === "CONFIG" && f.message === `the command line is invalid (1 problem); fix it and run again:\n  ${flagName(k)}: must be ${range.replace(/\\/g, "")} (got ${shown})`);
    }
  });
}

test("docs/configuration.md shows the range of every whole-number setting", async () => {
  const { readFile } = await import("node:fs/promises");
  const text = await readFile(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
  const page = text.slice(text.indexOf("## Ranges of the numeric settings"));
  for (const k of NUMERIC) {
    const r = SETTING_FIELDS[k].range!;
    const row = page.split("\n").find((l) => l.startsWith(`| \`${k}\` |`));
    assert.ok(row, `the page has a row for ${k}`);
    assert.match(row, new RegExp(`^\\| \`${k}\` \\| ${r.unit} \\| ${r.min}( \\([^)]*\\))? \\| ${r.max} \\(${r.maxIs}\\) \\|$`));
  }
});

test("a number too big for a double (1e400 reads as Infinity) is shown as Infinity, not null", async () => {
  const e = await configError("leaseWaitSeconds: 1e400\n");
  assert.match(e.message, /line 1: leaseWaitSeconds: must be .* \(got Infinity\)$/);
});

test("every bad entry of a manifests list is reported in the one error, with the duplicates", async () => {
  const e = await configError("manifests:\n  - kube-apiserver.yaml\n  - kube-scheduler\n  - Etcd\n  - 7\n  - kube-scheduler\n  - kube-proxy\n  - kube-proxy\n");
  assert.equal(e.file, FILE);
  assert.equal(e.message, `configuration file ${FILE} is invalid (1 problem); fix it and run again:\n  line 1: manifests: must be a list of manifest base names such as kube-apiserver, without duplicates (got "kube-apiserver.yaml" (entry 1), "Etcd" (entry 3), 7 (entry 4); "kube-scheduler", "kube-proxy" more than once)`);
  const flags = await resolveSettings({ flags: { manifests: ["kube-apiserver", "a b", "C"] } }).then(() => undefined, (x: RenewCertsError) => x.message);
  assert.match(flags ?? "", /--manifests: must be a list of manifest base names such as kube-apiserver \(got "a b" \(entry 2\), "C" \(entry 3\)\)$/);
});

test("all bad fields are reported at once, one line each, with their line numbers", async () => {
  const e = await configError("# header\ncertificateRenewInterval: -1\nschedule: 3\nbackupsKept: 0\nrefreshRootKubeconfig: true\n");
  const lines = e.message.split("\n");
  assert.match(lines[0]!, /is invalid \(3 problems\)/);
  assert.deepEqual(lines.slice(1).map((l) => l.trim().split(":")[0]), ["line 2", "line 3", "line 4"]);
});

test("an unknown field is refused with the closest known name", async () => {
  const e = await configError("certificateRenewInterval: 60\ncertificate-renew-interval: 30\n");
  assert.match(e.message, /line 2: certificate-renew-interval: unknown setting: did you mean certificateRenewInterval\?/);
  const typo = await configError("safetyMarginDay: 10\n");
  assert.match(typo.message, /safetyMarginDay: unknown setting: did you mean safetyMarginDays\?/);
  const far = await configError("colour: blue\n");
  assert.match(far.message, /colour: unknown setting; known settings: certificateRenewInterval, /);
});

test("closestName ignores case, dashes and underscores and refuses far names", () => {
  assert.equal(closestName("CERTIFICATE_RENEW_INTERVAL"), "certificateRenewInterval");
  assert.equal(closestName("schedul"), "schedule");
  assert.equal(closestName("zzz"), undefined);
});

test("YAML that does not parse is refused with its line number", async () => {
  const e = await configError("certificateRenewInterval: 60\nschedule: daily\nmanifests: [kube-apiserver\n");
  assert.equal(e.code, "CONFIG");
  assert.match(e.message, new RegExp(`^configuration file ${FILE} is not valid YAML: line \\d+, column \\d+: `));
  const dup = await configError("schedule: daily\nschedule: weekly\n");
  assert.match(dup.message, /not valid YAML: line 2, column 1: Map keys must be unique/);
});

test("a file that is not a mapping is refused", async () => {
  const e = await configError("- certificateRenewInterval\n");
  assert.match(e.message, /must be a mapping of setting: value/);
});

test("a missing configuration file is a CONFIG error that says how to create it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-config-"));
  try {
    await assert.rejects(loadConfig(join(dir, "config.yaml")), (e: RenewCertsError) => e.code === "CONFIG" && /does not exist: write it with renew-certs install/.test(e.message));
    await writeFile(join(dir, "config.yaml"), "validityDays: 90\ncertificateRenewInterval: 30\n");
    assert.equal((await loadConfig(join(dir, "config.yaml"))).validityDays, 90);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("resolveSettings merges defaults, then the file, then the flags", async () => {
  const s = await resolveSettings({ configFile: FILE, read: fromText("certificateRenewInterval: 30\nschedule: weekly\n"), flags: { certificateRenewInterval: 45, nodeName: undefined } });
  assert.equal(s.certificateRenewInterval, 45);
  assert.equal(s.schedule, "weekly");
  assert.equal(s.safetyMarginDays, DEFAULT_SETTINGS.safetyMarginDays);
  assert.deepEqual(await resolveSettings(), DEFAULT_SETTINGS);
});

test("a bad flag is named as a flag; an interval flag too long for the file's validity names the flag", async () => {
  await assert.rejects(resolveSettings({ flags: { certificateRenewInterval: numericFlag("-5") } }), (e: RenewCertsError) =>
    e.code === "CONFIG" && /^the command line is invalid \(1 problem\)/.test(e.message) && /--certificate-renew-interval: must be a whole number of days, from 0 to 3650 \(ten years\) \(got -5\)/.test(e.message));
  await assert.rejects(resolveSettings({ configFile: FILE, read: fromText("validityDays: 60\n"), flags: { certificateRenewInterval: 55 } }), (e: RenewCertsError) =>
    /^the command line is invalid/.test(e.message) && /--certificate-renew-interval: must be less than 53 days \(got 55\)/.test(e.message));
  await assert.rejects(resolveSettings({ configFile: FILE, read: fromText("validityDays: 30\nsafetyMarginDays: 40\n"), flags: { certificateRenewInterval: 25 } }), (e: RenewCertsError) =>
    new RegExp(`^configuration file ${FILE} is invalid \\(2 problems\\)`).test(e.message) && /line 2: safetyMarginDays: must be less than validityDays/.test(e.message));
});

test("validateInterval accepts 0 and intervals shorter than the validity less a week", () => {
  assert.equal(validateInterval(0, 365), undefined);
  assert.equal(validateInterval(60, 365), undefined);
  assert.equal(validateInterval(357, 365), undefined);
  assert.match(validateInterval(358, 365)!, /must be less than 358 days/);
  assert.match(validateInterval(-1, 365)!, /must be 0 \(disabled\) or a positive number of days/);
  assert.match(validateInterval(2.5, 365)!, /must be a whole number of days/);
  assert.match(validateInterval(Number.NaN, 365)!, /must be a whole number of days/);
});

test("numericFlag turns numbers into numbers and leaves anything else for the schema to name", () => {
  assert.equal(numericFlag("60"), 60);
  assert.equal(numericFlag("-1"), -1);
  assert.equal(numericFlag("6O"), "6O");
  assert.equal(numericFlag(undefined), undefined);
});

test("the JSON schema lists every setting and rejects unknown ones", () => {
  assert.deepEqual(Object.keys(SETTINGS_SCHEMA.properties), SETTING_NAMES);
  assert.equal(SETTINGS_SCHEMA.additionalProperties, false);
});

test("the configuration page's table (docs/configuration.md) documents every setting with its default", async () => {
  const { readFile } = await import("node:fs/promises");
  const page = await readFile(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
  for (const k of SETTING_NAMES) {
    const row = page.split("\n").find((l) => l.startsWith(`| \`${k}\` |`));
    assert.ok(row, `docs/configuration.md has a row for ${k}`);
    const d = DEFAULT_SETTINGS[k];
    const shown = Array.isArray(d) ? `[${d.join(", ")}]` : typeof d === "string" ? (d === "" ? '""' : d) : String(d);
    assert.ok(row.includes(`\`${shown}\``), `docs/configuration.md row of ${k} shows its default ${shown}: ${row}`);
  }
});
