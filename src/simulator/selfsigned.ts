// The self-signed serving certificates the control-plane components make in memory at every start
// (client-go's certutil.GenerateSelfSignedCertKey): kube-apiserver's loopback certificate, and the
// serving certificates of kube-controller-manager and kube-scheduler when they run, as kubeadm
// runs them, without --tls-cert-file. Their subject carries the start time ("host@<unix seconds>").
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { KeyObject, webcrypto } from "node:crypto";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** A certificate and its key, PEM. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

/** A self-signed ECDSA P-256 serving certificate for `cn`, valid from `notBefore` to `notAfter`. */
export async function selfSignedServing(o: { cn: string; dnsNames: string[]; ipAddresses?: string[]; notBefore: Date; notAfter: Date }): Promise<KeyPairPem> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${o.cn}`,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension([...o.dnsNames.map((value) => ({ type: "dns" as const, value })), ...(o.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value }))], false),
    ],
  });
  return { cert: cert.toString("pem"), key: KeyObject.from(keys.privateKey).export({ type: "pkcs8", format: "pem" }).toString() };
}
