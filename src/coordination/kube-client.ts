// The Kubernetes client lives in src/kube; re-exported for the modules that still import it from here.
export { kubeClient, ApiError, ApiUnreachableError, type KubeClient } from "../kube/client.js";
