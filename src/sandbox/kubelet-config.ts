// The kubelet's configuration file as kubeadm writes it (/var/lib/kubelet/config.yaml), as much of
// it as a sandbox needs: where the kubelet serves its healthz, where its static pods and client CA
// are. renew-certs reads healthzBindAddress and healthzPort to ask whether the kubelet runs.

/** A KubeletConfiguration with kubeadm's values for what renew-certs reads. */
export const KUBELET_CONFIG_YAML = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
cgroupDriver: systemd
healthzBindAddress: 127.0.0.1
healthzPort: 10248
rotateCertificates: true
staticPodPath: /etc/kubernetes/manifests
`;
