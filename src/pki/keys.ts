import { generateKeyPair, webcrypto, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { RenewCertsError } from "../errors.js";

const generate = promisify(generateKeyPair);

/** The key algorithms kubeadm can write, and so the ones renew-certs renews. */
export type KeySpec = { type: "rsa"; bits: 2048 | 3072 | 4096 } | { type: "ec"; curve: "P-256" | "P-384" };

/** Parses "rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384". */
export function parseKeySpec(name: string): KeySpec | undefined {
  switch (name) {
    case "rsa-2048": return { type: "rsa", bits: 2048 };
    case "rsa-3072": return { type: "rsa", bits: 3072 };
    case "rsa-4096": return { type: "rsa", bits: 4096 };
    case "ecdsa-p256": return { type: "ec", curve: "P-256" };
    case "ecdsa-p384": return { type: "ec", curve: "P-384" };
    default: return undefined;
  }
}

/** The spec of an existing key (public or private); throws UNSUPPORTED for anything else. */
export function keySpecOf(key: KeyObject, source: string): KeySpec {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa" && (d.modulusLength === 2048 || d.modulusLength === 3072 || d.modulusLength === 4096)) {
    return { type: "rsa", bits: d.modulusLength };
  }
  if (key.asymmetricKeyType === "ec" && (d.namedCurve === "prime256v1" || d.namedCurve === "P-256")) return { type: "ec", curve: "P-256" };
  if (key.asymmetricKeyType === "ec" && (d.namedCurve === "secp384r1" || d.namedCurve === "P-384")) return { type: "ec", curve: "P-384" };
  const what = key.asymmetricKeyType === "rsa" ? `RSA ${d.modulusLength ?? "?"} bits` : key.asymmetricKeyType === "ec" ? `ECDSA ${d.namedCurve ?? "?"}` : (key.asymmetricKeyType ?? "unknown");
  throw new RenewCertsError("UNSUPPORTED", `${source} uses an unsupported key type (${what}): renew-certs renews RSA 2048/3072/4096 and ECDSA P-256/P-384 keys; renew this one with kubeadm`, { file: source });
}

/** Generates a private key of `spec` on libuv's thread pool, so several run at once. */
export async function generateKey(spec: KeySpec): Promise<KeyObject> {
  const pair = spec.type === "rsa"
    ? await generate("rsa", { modulusLength: spec.bits, publicExponent: 0x10001 })
    : await generate("ec", { namedCurve: spec.curve });
  return pair.privateKey;
}

/** The PEM kubeadm writes for a private key: PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY". */
export function privateKeyPem(key: KeyObject): string {
  const type = key.asymmetricKeyType === "rsa" ? "pkcs1" : "sec1";
  return key.export({ type, format: "pem" }).toString();
}

/** The WebCrypto algorithm used to sign with a key of `spec`, as Go's x509 chooses it. */
export function signingAlgorithm(spec: KeySpec): RsaHashedImportParams | EcKeyImportParams & { hash: string } {
  if (spec.type === "rsa") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return { name: "ECDSA", namedCurve: spec.curve, hash: spec.curve === "P-384" ? "SHA-384" : "SHA-256" };
}

const imported = new WeakMap<KeyObject, Promise<webcrypto.CryptoKey>>();

/** Imports a Node.js key into WebCrypto for signing (private) or for a certificate (public), once per key. */
export function toCryptoKey(key: KeyObject, spec: KeySpec): Promise<webcrypto.CryptoKey> {
  let p = imported.get(key);
  if (!p) {
    p = importKey(key, spec);
    imported.set(key, p);
  }
  return p;
}

async function importKey(key: KeyObject, spec: KeySpec): Promise<webcrypto.CryptoKey> {
  const alg = signingAlgorithm(spec);
  if (key.type === "private") {
    return webcrypto.subtle.importKey("pkcs8", key.export({ type: "pkcs8", format: "der" }), alg, false, ["sign"]);
  }
  return webcrypto.subtle.importKey("spki", key.export({ type: "spki", format: "der" }), alg, true, ["verify"]);
}
