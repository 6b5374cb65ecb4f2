// What `renew-certs deploy` prints: a Namespace, the configuration as a ConfigMap and a DaemonSet
// whose init container installs renew-certs on its node (see host-step.ts) and whose only other
// container does nothing, so that each node's pod shows that node's state. The pod has no API
// credentials and no RBAC: the systemd timer on each host does the work, with or without the API.
// `deploy --uninstall` prints a DaemonSet of the same name whose init container uninstalls: applied
// over the installer, it replaces it node by node, so the two can never run against each other.
import { createHash } from "node:crypto";
import { stringify } from "yaml";
// Types only (erased at build time): an object literal with a misspelt or unknown field does not compile.
import type { IDaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { Settings } from "../config/settings.js";
import { renderConfigFile } from "../host/files.js";

/** The name of the DaemonSet, of its ConfigMap, and the app.kubernetes.io/name of everything. */
export const APP = "renew-certs";
/** The ConfigMap holding config.yaml. */
export const CONFIG_MAP = "renew-certs-config";
/** Where the host's root directory is mounted in the init container. */
export const HOST_ROOT = "/host";
/** Where the ConfigMap's config.yaml is mounted in the init container. */
export const CONFIG_MOUNT = "/etc/renew-certs-deploy";
/** Where the executable lives in the image. */
export const IMAGE_EXECUTABLE = "/usr/local/bin/renew-certs";
/** The file the init container's report goes to; the kubelet reads at most 4096 bytes of it. */
export const TERMINATION_LOG = "/dev/termination-log";
/** The pod annotation holding the sha256 of config.yaml: a changed configuration rolls the pods. */
export const CONFIG_HASH_ANNOTATION = "renew-certs/config-sha256";

/** What `deploy` is asked for. */
export interface DeployOptions {
  /** The image reference, e.g. renew-certs:dev or registry.example/renew-certs:0.1.0. */
  image: string;
  /** Default "renew-certs". */
  namespace: string;
  /** The settings written to config.yaml (already validated by the configuration schema). */
  settings: Settings;
  /** The version of renew-certs printing the manifests (a label; a new one rolls the pods). */
  version: string;
}

/** A Kubernetes object `deploy` prints. */
export type KubeObject = INamespace | IConfigMap | IDaemonSet;

function labels(o: DeployOptions, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": APP,
    "app.kubernetes.io/instance": APP,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/version": o.version,
    "app.kubernetes.io/part-of": APP,
    "app.kubernetes.io/managed-by": "renew-certs-deploy",
  };
}

/** The Namespace: pod security "privileged", since the pod mounts the host's root and enters PID 1's namespaces. */
export function namespaceObject(o: DeployOptions): INamespace {
  const level = { enforce: "privileged", audit: "privileged", warn: "privileged" };
  const podSecurity = Object.fromEntries(Object.entries(level).map(([k, v]) => [`pod-security.kubernetes.io/${k}`, v]));
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: o.namespace, labels: { ...labels(o, "namespace"), ...podSecurity } } };
}

/** The ConfigMap: the very config.yaml `renew-certs install` writes for these settings. */
export function configMapObject(o: DeployOptions): IConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: CONFIG_MAP, namespace: o.namespace, labels: labels(o, "config") }, data: { "config.yaml": renderConfigFile(o.settings) } };
}

/** The container that does nothing after the init container: the DaemonSet's pods show each node's state. */
function pauseContainer(o: DeployOptions, step: "install-host" | "uninstall-host"): IContainer {
  return {
    name: "installed",
    image: o.image,
    imagePullPolicy: "IfNotPresent",
    command: [IMAGE_EXECUTABLE, "deploy", "pause"],
    securityContext: {
      runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
    },
    resources: { requests: { cpu: "1m", memory: "24Mi" }, limits: { memory: "96Mi" } },
    // A plain volume, no API access: the kubelet's own credentials fetch it for the pod.
    volumeMounts: step === "install-host" ? [{ name: "kube-root-ca", mountPath: "/var/run/renew-certs/kube-root-ca", readOnly: true }] : [],
  };
}

/** The init container: runs `deploy install-host` or `deploy uninstall-host` against the host's root. */
function hostStepContainer(o: DeployOptions, step: "install-host" | "uninstall-host"): IContainer {
  const install = step === "install-host";
  return {
    name: install ? "install" : "uninstall",
    image: o.image,
    imagePullPolicy: "IfNotPresent",
    command: [IMAGE_EXECUTABLE, "deploy", step, "--host-root", HOST_ROOT, ...(install ? ["--config", `${CONFIG_MOUNT}/config.yaml`] : []), "--termination-log", TERMINATION_LOG],
    env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
    // Privileged: it writes the host's /etc and /usr/local/bin, and nsenter enters PID 1's namespaces.
    securityContext: { privileged: true },
    // The executable is read whole, the image's and the host's copy: twice its size, and Node.js itself.
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "512Mi" } },
    terminationMessagePath: TERMINATION_LOG,
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [
      { name: "host", mountPath: HOST_ROOT },
      ...(install ? [{ name: "config", mountPath: CONFIG_MOUNT, readOnly: true }] : []),
    ],
  };
}

/** The DaemonSet, installing (`step` install-host) or uninstalling; both have the same name and selector. */
export function daemonSetObject(o: DeployOptions, step: "install-host" | "uninstall-host"): IDaemonSet {
  const component = step === "install-host" ? "host-installer" : "host-uninstaller";
  const podLabels = labels(o, component);
  const annotations: Record<string, string> = step === "install-host" ? { [CONFIG_HASH_ANNOTATION]: createHash("sha256").update(renderConfigFile(o.settings)).digest("hex") } : {};
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: APP, namespace: o.namespace, labels: podLabels },
    spec: {
      selector: { matchLabels: { "app.kubernetes.io/name": APP, "app.kubernetes.io/instance": APP } },
      // One node at a time: a new executable or configuration reaches the hosts one by one.
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: podLabels, annotations },
        spec: {
          // No API credentials at all: the pod never talks to the API server.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // nsenter --target 1: PID 1 must be the host's systemd.
          hostPID: true,
          // Every node, whatever its taints: an empty key with Exists matches every taint. The two
          // control-plane taints are listed too, so that a reader sees they are meant.
          tolerations: [
            { operator: "Exists" },
            { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
            { key: "node-role.kubernetes.io/master", operator: "Exists", effect: "NoSchedule" },
          ],
          terminationGracePeriodSeconds: 10,
          initContainers: [hostStepContainer(o, step)],
          containers: [pauseContainer(o, step)],
          volumes: [
            { name: "host", hostPath: { path: "/", type: "Directory" } },
            ...(step === "install-host" ? [{ name: "config", configMap: { name: CONFIG_MAP } }, { name: "kube-root-ca", configMap: { name: "kube-root-ca.crt" } }] : []),
          ],
        },
      },
    },
  };
}

/** The objects `deploy` prints, in the order kubectl must create them. Pure. */
export function deployObjects(o: DeployOptions): KubeObject[] {
  return [namespaceObject(o), configMapObject(o), daemonSetObject(o, "install-host")];
}

/** The objects `deploy --uninstall` prints: the Namespace (it may be gone) and the uninstalling DaemonSet. Pure. */
export function uninstallObjects(o: DeployOptions): KubeObject[] {
  return [namespaceObject(o), daemonSetObject(o, "uninstall-host")];
}

/** Multi-document YAML of `objects`, after a comment header. Pure. */
export function renderObjects(objects: readonly KubeObject[], header: string): string {
  const docs = objects.map((obj) => stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false }));
  return `${header.split("\n").map((l) => (l ? `# ${l}` : "#")).join("\n")}\n---\n${docs.join("---\n")}`;
}
