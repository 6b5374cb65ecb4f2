// The API server test double's storage: what etcd is to kube-apiserver. Objects outlive the
// process (a restarted API server still has its Leases, Events and mirror pods), every write gets
// a new resourceVersion, and the file is replaced atomically so a killed process leaves it whole.
import { readFileSync, renameSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

/** A stored Kubernetes object: anything with metadata. */
export type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion?: string } };

interface Data {
  rv: number;
  objects: Record<string, KubeObject>;
}

/** Where a simulated control plane under `root` keeps the API server double's objects. */
export function storeFileOf(root: string): string {
  return join(root, "var/lib/renew-certs-simulator/store.json");
}

/** The objects of one simulated cluster, persisted in `file` (one API server process writes it at a time). */
export class ObjectStore {
  private data: Data | undefined;

  constructor(private readonly file: string) {}

  private read(): Data {
    if (this.data) return this.data;
    try {
      this.data = JSON.parse(readFileSync(this.file, "utf8")) as Data;
    } catch {
      this.data = { rv: 1, objects: {} };
    }
    return this.data;
  }

  private write(d: Data): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(d));
    renameSync(tmp, this.file);
  }

  /** The object stored under `key` ("leases/kube-system/renew-certs"). */
  get(key: string): KubeObject | undefined {
    return this.read().objects[key];
  }

  /** Every object whose key starts with `prefix`. */
  list(prefix: string): KubeObject[] {
    return Object.entries(this.read().objects).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  }

  /** Stores `obj` under `key` with a new resourceVersion and returns it; an update that changes nothing keeps its resourceVersion, as the real one does. */
  put(key: string, obj: KubeObject): KubeObject {
    const d = this.read();
    const cur = d.objects[key];
    if (cur && JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion } }) === JSON.stringify(cur)) return cur;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(d.rv++) } };
    d.objects[key] = stored;
    this.write(d);
    return stored;
  }

  /** Removes `key`; true when it was there. */
  delete(key: string): boolean {
    const d = this.read();
    if (!(key in d.objects)) return false;
    delete d.objects[key];
    this.write(d);
    return true;
  }
}
