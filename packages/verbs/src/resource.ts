/**
 * {@link VerbsResource}: what every wrapper of a native verbs object shares
 * (`closed`, `close()`, `using`). The native handle is an ES private field;
 * the verbs files reach it through {@link handle}, which index.ts does not
 * export, so it appears in no public type.
 *
 * Also {@link addMethods}: a class's factory methods live in the file of the
 * class they create (`pd.createQp()` in qp.ts) and are added to the parent's
 * prototype there, so a parent never imports its children and the import
 * graph has no cycle.
 * @module
 */
import type { NativeResource } from './native.js';

let handleOf: (resource: VerbsResource) => NativeResource;

/**
 * The base of every class that wraps a native verbs object (except
 * {@link Context}, an `EventEmitter`, which has the same three members).
 * Closing a resource closes what depends on it first (a PD its QPs and
 * regions, a CQ its QPs...); `close()` twice is harmless; `using` closes it.
 */
export abstract class VerbsResource implements Disposable {
  readonly #native: NativeResource;

  static {
    handleOf = (resource) => resource.#native;
  }

  /** @internal */
  protected constructor(native: NativeResource) {
    this.#native = native;
  }

  /** True once closed: by {@link close}, or by closing something it depends on. */
  get closed(): boolean {
    return this.#native.closed;
  }

  /** Closes it and, first, what depends on it. Harmless when already closed. */
  close(): void {
    this.#native.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** @internal The native object behind `resource`, typed as the caller knows it is. */
export function handle<N extends NativeResource>(resource: VerbsResource): N {
  return handleOf(resource) as N;
}

/**
 * @internal Adds methods to a class's prototype, non-enumerable like the
 * class's own. The file calling it declares them on the class (interface
 * merging) so types and docs show them as members.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each method has its own signature
export function addMethods<T extends object>(cls: abstract new (...args: never[]) => T, methods: ThisType<T> & Record<string, (...args: any[]) => unknown>): void {
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(cls.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
}
