// The kubelet inside the booted container: the kubelet test double (src/simulator/kubelet.ts),
// run as the container's kubelet.service (a transient unit named kubelet, so that `systemctl
// restart kubelet` acts on it) by `node kubelet-main.js`, on the container's
// /etc/kubernetes/manifests. It writes READY once every component answers. A component named in
// UNHEALTHY_ONCE comes up unhealthy at its next start only (the file is then removed): a restart
// that fails once, so that the run rolls back and the rollback's restart comes back healthy. A
// component named in DOWN dies at every start (a crash loop) while the file is there: a restart
// the run waits for until it is stopped.
import { readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { startKubeletDouble } from "../../src/simulator/kubelet.js";

/** The directory of the control files, inside the container. */
export const CONTROL_DIR = "/run/kubelet-double";
/** Written when every component's process is up. */
export const READY = `${CONTROL_DIR}/ready`;
/** Holds a component name: its next start is unhealthy. */
export const UNHEALTHY_ONCE = `${CONTROL_DIR}/unhealthy-once`;
/** Holds a component name: it crash-loops while the file exists. */
export const DOWN = `${CONTROL_DIR}/down`;

const down = (component: string): boolean => {
  try {
    return readFileSync(DOWN, "utf8").trim() === component;
  } catch {
    return false;
  }
};

const unhealthyOnce = (component: string): boolean => {
  let name: string;
  try {
    name = readFileSync(UNHEALTHY_ONCE, "utf8").trim();
  } catch {
    return false;
  }
  if (name !== component) return false;
  rmSync(UNHEALTHY_ONCE, { force: true });
  return true;
};

// Only when run as the entry point: the test imports the paths above.
if (process.argv[1]?.endsWith("kubelet-main.js") && process.argv[2] === "serve") {
  mkdirSync(CONTROL_DIR, { recursive: true });
  const kubelet = await startKubeletDouble({ root: "/", behaviour: (component: string) => (down(component) ? "down" : unhealthyOnce(component) ? "unhealthy" : "healthy") });
  // Its log lines to the journal too (journalctl -u kubelet), as the real kubelet's.
  let shown = 0;
  setInterval(() => { for (; shown < kubelet.log.length; shown++) process.stdout.write(`${kubelet.log[shown]!}\n`); }, 200).unref();
  writeFileSync(READY, `${process.pid}\n`);
  process.stdout.write("kubelet test double: every static pod is running\n");
  process.once("SIGTERM", () => void kubelet.stop().then(() => process.exit(0)));
}
