// kube-controller-manager's bootstrap signer (pkg/controller/bootstrap/bootstrapsigner.go), as the
// controller-manager double plays it when --controllers names bootstrapsigner (kubeadm's default):
// for every bootstrap token Secret in kube-system that may sign (usage-bootstrap-signing "true",
// not expired), kube-public/cluster-info carries jws-kubeconfig-<token id>, a detached JWS (HS256,
// key = the token secret, header {"alg":"HS256","kid":"<token id>"}) of its data.kubeconfig, as
// k8s.io/cluster-bootstrap/token/jws ComputeDetachedSignature makes it: "<header>..<signature>".
// Entries of tokens that are gone are removed. When the CA data in cluster-info changes, the
// signatures are re-made (measured: valid for the new content within 5 s).
import { createHmac } from "node:crypto";
import { ApiError, type KubeClient } from "../kube/client.js";

const PREFIX = "jws-kubeconfig-";
const TOKEN_TYPE = "bootstrap.kubernetes.io/token";
const CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info";

const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

/** The detached JWS kubeadm's discovery checks for `content` signed with token `id`.`secret`. */
export function detachedJws(content: string, id: string, secret: string): string {
  const header = b64url(JSON.stringify({ alg: "HS256", kid: id }));
  const signature = createHmac("sha256", secret).update(`${header}.${b64url(content)}`).digest();
  return `${header}..${b64url(signature)}`;
}

type Secret = { type?: string; data?: Record<string, string> };
type ConfigMap = { metadata: Record<string, unknown>; data?: Record<string, string> };

/** The tokens that may sign now: id → secret. */
function signingTokens(secrets: Secret[], now: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of secrets) {
    if (s.type !== TOKEN_TYPE || !s.data) continue;
    const field = (k: string): string | undefined => (s.data![k] === undefined ? undefined : Buffer.from(s.data![k]!, "base64").toString());
    const id = field("token-id");
    const secret = field("token-secret");
    const expiration = field("expiration");
    if (!id || !secret || field("usage-bootstrap-signing") !== "true") continue;
    if (expiration && Date.parse(expiration) <= now) continue;
    out.set(id, secret);
  }
  return out;
}

/** One round: cluster-info's JWS entries made to match its kubeconfig and the signing tokens. */
export async function signClusterInfo(api: KubeClient, now = Date.now()): Promise<void> {
  let cm: ConfigMap;
  try {
    cm = await api.get<ConfigMap>(CLUSTER_INFO);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return; // nothing to sign
    throw e;
  }
  const content = cm.data?.["kubeconfig"];
  if (content === undefined) return;
  const tokens = signingTokens((await api.get<{ items: Secret[] }>("/api/v1/namespaces/kube-system/secrets")).items, now);
  const data: Record<string, string> = Object.fromEntries(Object.entries(cm.data ?? {}).filter(([k]) => !k.startsWith(PREFIX)));
  for (const [id, secret] of tokens) data[`${PREFIX}${id}`] = detachedJws(content, id, secret);
  if (JSON.stringify(Object.entries(data).sort()) === JSON.stringify(Object.entries(cm.data ?? {}).sort())) return;
  try {
    await api.update(CLUSTER_INFO, { ...cm, data });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 409)) throw e; // changed meanwhile: the next round signs the new content
  }
}
