// Interim stand-in for @rdmajs/verbs' RegistrationCache (being moved there from @rdmajs/sdp); same API.
import type { Access, MemoryRegion, ProtectionDomain } from '@rdmajs/verbs';

export interface Registration {
  readonly mr: MemoryRegion;
  readonly offset: number;
}

interface Entry {
  mr: MemoryRegion;
  uses: number;
}

export class RegistrationCache {
  readonly #entries = new Map<ArrayBufferLike, Entry>();
  constructor(
    readonly pd: ProtectionDomain,
    readonly options: { access: readonly Access[]; registerOnUse?: number },
  ) {}

  acquire(view: ArrayBufferView): Registration | undefined {
    const ab = view.buffer;
    let e = this.#entries.get(ab);
    if (e === undefined) {
      try {
        e = { mr: this.pd.registerMemory(ab, this.options.access), uses: 0 };
      } catch {
        return undefined;
      }
      this.#entries.set(ab, e);
      if (this.#entries.size > 64) this.#evict();
    }
    e.uses++;
    return { mr: e.mr, offset: view.byteOffset };
  }

  release(reg: Registration): void {
    for (const e of this.#entries.values()) if (e.mr === reg.mr) e.uses--;
  }

  #evict(): void {
    for (const [ab, e] of this.#entries) {
      if (e.uses > 0 || this.#entries.size <= 64) continue;
      try {
        e.mr.close();
        this.#entries.delete(ab);
      } catch {
        // in flight
      }
    }
  }

  close(): void {
    for (const e of this.#entries.values()) {
      try {
        e.mr.close();
      } catch {
        // closed with the context
      }
    }
    this.#entries.clear();
  }
}
