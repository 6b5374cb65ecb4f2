// What each control-plane component re-reads from disk without a restart, by version: the one table
// behind `restartMode: minimal`. A component is left running (and its reload proven, reload.ts) only
// when every renewed file it uses is known to be re-read by its version; anything else, an unknown
// version or an image without a tag included, is restarted, and the reason says why.
//
// Where each fact comes from (Kubernetes and etcd sources):
// - kube-apiserver's serving certificate: k8s.io/apiserver pkg/server/dynamiccertificates,
//   dynamic_serving_content.go (NewDynamicServingContentFromFiles: the pair is re-read on an fsnotify
//   event, and checked once a minute; a key and certificate that do not match keep the old pair).
//   Re-read every minute since v1.17 (kubernetes/kubernetes#84200, "Reload apiserver serving
//   certificate from disk every minute"), at once on change since v1.23 (#104102, "Improve dynamic
//   cert file change detection", fsnotify, August 2021); this table trusts v1.23 and later.
// - its --client-ca-file and --requestheader-client-ca-file: the same package,
//   dynamic_cafile_content.go (DynamicFileCAContent). CAs are never renewed here; listed for completeness.
// - its client certificates held as files (--kubelet-client-certificate, --proxy-client-cert-file,
//   --etcd-certfile): client-go transport/transport.go: a certificate and key given as FILES set
//   ReloadTLSFiles and are re-read at most once a second (cachingCertificateLoader) on every new
//   TLS connection (kubernetes/kubernetes#79083, "Add ability to reload client certificates from
//   disk", 2019); data embedded in a kubeconfig is "treated as static". Pooled connections to
//   kubelets and gRPC connections to etcd are long-lived: the renewed certificate is presented at the
//   next connection (that kube-apiserver keeps its connections to kubelets across a rotation is
//   kubernetes/kubernetes#114588). None of this can be observed from outside, so it is logged as
//   known by version.
// - kube-controller-manager, kube-scheduler: kubeadm embeds their client certificate in their
//   kubeconfig (client-certificate-data), which client-go keeps as loaded (transport.go above); and
//   their serving certificate is self-signed in memory at start: they must restart.
// - kube-apiserver's loopback certificate (server name apiserver-loopback-client) is self-signed in
//   memory at its start (k8s.io/apiserver pkg/server/options/serving_with_loopback.go), valid one
//   year (14 months in recent versions): a planned restart before it expires (restart-plan.ts).
// - etcd: client/pkg/transport/listener.go (TLSInfo.baseConfig): GetCertificate reads --cert-file /
//   --peer-cert-file "when there's a client request", i.e. on every new handshake; its trusted CA
//   is loaded once (never renewed here). Before v3.2.19 the reload happened only for clients that
//   send a server name (CHANGELOG-3.2, v3.2.19, "Fix TLS reload"): kube-apiserver and our probes
//   connect by IP address, without one. Whether 3.3 got the fix early is not known here, so this
//   table trusts v3.4 and later.
import type { ManifestInfo } from "../manifests/manifest.js";

/** A component's version, from its image tag ("registry.k8s.io/kube-apiserver:v1.31.4" → 1.31.4). */
export interface Version {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

/** The version an image names in its tag, or undefined ("latest", a digest only, no tag). */
export function versionOfImage(image: string | undefined): Version | undefined {
  const tag = image?.split("@")[0]?.split("/").pop()?.split(":")[1];
  const m = tag ? /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag) : null;
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: tag! } : undefined;
}

const atLeast = (v: Version, major: number, minor: number): boolean => v.major > major || (v.major === major && v.minor >= minor);

/** The first version known to re-read everything below from disk. */
export const RELOAD_SINCE = {
  "kube-apiserver": { major: 1, minor: 23, text: "v1.23" },
  etcd: { major: 3, minor: 4, text: "v3.4" },
} as const;

/** What kube-apiserver re-reads without a restart, but nothing outside can observe: logged as known by version. */
export const APISERVER_UNOBSERVABLE = [
  "the kubelet client certificate (--kubelet-client-certificate, re-read at most once a second; used on new connections to kubelets)",
  "the front-proxy client certificate (--proxy-client-cert-file, for aggregated API servers)",
  "the etcd client certificate (--etcd-certfile, used on its next connection to etcd)",
];

/** How the run brings one component onto the renewed files. */
export interface ComponentPolicy {
  action: "restart" | "reload";
  /** For the log: why this action, with the version. */
  why: string;
}

/** The policy of `m`'s component in minimal mode, from its manifest (image tag, flags) and what its kubeconfig holds. */
export function reloadPolicy(m: ManifestInfo, kubeconfigEmbedsCert?: boolean): ComponentPolicy {
  const v = versionOfImage(m.image);
  const named = v ? `${m.component} ${v.text}` : m.component;
  switch (m.component) {
    case "kube-apiserver": {
      const since = RELOAD_SINCE["kube-apiserver"];
      if (!v) return { action: "restart", why: `${named}: its image (${m.image ?? "none"}) names no version, so it is not known to re-read its certificates: restart` };
      if (!atLeast(v, since.major, since.minor)) return { action: "restart", why: `${named} is older than ${since.text}, the first version known to re-read its serving certificate on change: restart` };
      return { action: "reload", why: `${named} re-reads its serving certificate and its client certificates from disk (${since.text} and later): no restart, the reload is proven` };
    }
    case "etcd": {
      const since = RELOAD_SINCE.etcd;
      if (!v) return { action: "restart", why: `${named}: its image (${m.image ?? "none"}) names no version: restart` };
      if (!atLeast(v, since.major, since.minor)) return { action: "restart", why: `${named} is older than ${since.text}, the first version known to re-read its certificates on every handshake: restart` };
      return { action: "reload", why: `${named} re-reads its serving and peer certificates on every new handshake (${since.text} and later): no restart, the reload is proven` };
    }
    case "kube-controller-manager":
    case "kube-scheduler":
      return {
        action: "restart",
        why: kubeconfigEmbedsCert === false
          ? `${named} makes its serving certificate in memory at its start and is not known to re-read its kubeconfig: restart`
          : `${named} keeps the client certificate embedded in its kubeconfig as loaded at its start (client-go treats embedded data as static): restart`,
      };
    default:
      return { action: "restart", why: `${named} is not known to re-read its certificates: restart` };
  }
}
