import { request } from "node:https";
import type { ClientCredentials } from "./credentials.js";
import type { Endpoint } from "../manifests/manifest.js";

/** An error answer of the API server: the HTTP status and Kubernetes' Status reason. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
  }
}

/** The API server could not be reached at all (refused, TLS failure, timeout). */
export class ApiUnreachableError extends Error {
  override readonly name = "ApiUnreachableError";
}

/** The few Kubernetes API calls renew-certs makes; tests use a test double of the API server. */
export interface KubeClient {
  get<T>(path: string): Promise<T>;
  create<T>(path: string, body: unknown): Promise<T>;
  update<T>(path: string, body: unknown): Promise<T>;
  /** A JSON merge patch (RFC 7386, application/merge-patch+json), as `kubectl annotate` sends. */
  patch<T>(path: string, body: unknown): Promise<T>;
}

/**
 * A small JSON client over node:https with mutual TLS. Why not @kubernetes/client-node: it is
 * ESM-only with a large dependency tree, which the single-file executable would carry into every
 * start, for five REST calls (see docs/design.md, "The Kubernetes client").
 */
export function kubeClient(endpoint: Endpoint, creds: ClientCredentials, timeoutMs = 5000): KubeClient {
  const call = <T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request({
        host: endpoint.host, port: endpoint.port, method, path,
        ca: creds.caPem, ...(creds.certPem ? { cert: creds.certPem, key: creds.keyPem } : {}),
        // The API server's certificate names the advertise address, and renew-certs may reach it as 127.0.0.1.
        checkServerIdentity: () => undefined,
        headers: {
          accept: "application/json", ...(creds.token ? { authorization: `Bearer ${creds.token}` } : {}),
          ...(data ? { "content-type": contentType, "content-length": data.length } : {}),
        },
        timeout: timeoutMs,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(json as T);
          const s = (json ?? {}) as { kind?: string; reason?: string; message?: string };
          // Kubernetes answers every error with a Status object; anything else is not its API.
          if (s.kind !== "Status") return reject(new ApiUnreachableError(`${endpoint.host}:${endpoint.port} is not a Kubernetes API (${method} ${path}: ${status})`));
          reject(new ApiError(status, s.reason ?? String(status), `${method} ${path}: ${status} ${s.message ?? text.slice(0, 200)}`));
        });
      });
      req.on("timeout", () => req.destroy(new ApiUnreachableError(`${endpoint.host}:${endpoint.port}: no answer within ${timeoutMs} ms`)));
      req.on("error", (e) => reject(e instanceof ApiUnreachableError ? e : new ApiUnreachableError(`${endpoint.host}:${endpoint.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      req.end(data);
    });
  return {
    get: (path) => call("GET", path),
    create: (path, body) => call("POST", path, body),
    update: (path, body) => call("PUT", path, body),
    patch: (path, body) => call("PATCH", path, body, "application/merge-patch+json"),
  };
}
