import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";

/** The variable that points the tests at Cluster API's CRDs and sample clusters (.ci/run sets it). */
export const FIXTURES_ENV = "RENEW_CERTS_CAPI_FIXTURES";

/** The sample clusters, by API version. */
export const SAMPLES = ["v1beta1/simple-cluster.yaml", "v1beta1/clusterclass-quick-start.yaml", "v1beta2/simple-cluster.yaml", "v1beta2/clusterclass-quick-start.yaml"] as const;

/**
 * The Cluster API fixtures folder. Without the variable a test skips with a message locally and
 * fails under CI=true; a variable that names a missing folder always fails.
 */
export function capiFixtures(t: TestContext): string | undefined {
  const dir = process.env[FIXTURES_ENV];
  if (dir) {
    assert.ok(existsSync(join(dir, "crds")), `${FIXTURES_ENV}=${dir} holds no crds/ folder`);
    return dir;
  }
  const msg = `needs the Cluster API fixtures: set ${FIXTURES_ENV} to the fixtures/cluster-api folder (.ci/run does)`;
  if (process.env["CI"] === "true") assert.fail(`${msg}; CI must set it`);
  t.skip(msg);
  return undefined;
}

type Schema = Record<string, unknown>;

/**
 * The API server's view of a structural schema, for ajv: an object with `properties` accepts no
 * other field (kubectl's default --validate=strict rejects unknown fields), unless it says
 * x-kubernetes-preserve-unknown-fields.
 */
function strictObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictObjects);
  if (!schema || typeof schema !== "object") return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, strictObjects(s)])) : strictObjects(v);
  if (out["properties"] && out["additionalProperties"] === undefined && out["x-kubernetes-preserve-unknown-fields"] !== true) out["additionalProperties"] = false;
  return out;
}

function kubernetesAjv(): Ajv {
  // Kubernetes' extensions are annotations for JSON-schema purposes: the API server enforces
  // x-kubernetes-validations (CEL) and list types itself; anyOf [integer, string] already
  // expresses int-or-string.
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const k of ["x-kubernetes-int-or-string", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource"]) {
    ajv.addKeyword({ keyword: k });
  }
  const int = (bits: number) => ({ type: "number" as const, validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** (bits - 1) });
  ajv.addFormat("int32", int(32));
  ajv.addFormat("int64", int(64));
  ajv.addFormat("byte", /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i);
  return ajv;
}

const compiled = new Map<string, Map<string, ValidateFunction>>();

/** Validators for every kind and version of the CRDs in `crdDir`, keyed "Kind/version" (compiled once per process). */
export function crdValidators(crdDir: string, files: string[]): Map<string, ValidateFunction> {
  const key = JSON.stringify([crdDir, files]);
  const done = compiled.get(key);
  if (done) return done;
  const ajv = kubernetesAjv();
  const out = new Map<string, ValidateFunction>();
  for (const f of files) {
    const crd = parse(readFileSync(join(crdDir, f), "utf8")) as { spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: unknown } }[] } };
    for (const v of crd.spec.versions) out.set(`${crd.spec.names.kind}/${v.name}`, ajv.compile(strictObjects(v.schema.openAPIV3Schema) as Schema));
  }
  compiled.set(key, out);
  return out;
}
