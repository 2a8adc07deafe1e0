/**
 * Binomial-tree shape shared by bcast, reduce, gather and scatter, in
 * *relative* ranks (`(rank - root) mod size`, so the root is 0). The parent
 * of `v > 0` is `v` with its lowest set bit cleared; the children of `v` are
 * `v + 2^j` for every `2^j` below `v`'s lowest set bit (below `size` for the
 * root), and the subtree of `v` is the `min(lowbit(v), size - v)` relative
 * ranks starting at `v`. Works for any size.
 * @internal
 * @module
 */

/** @internal Relative rank of `rank` in a tree rooted at `root`. */
export function relative(rank: number, root: number, size: number): number {
  return (rank - root + size) % size;
}

/** @internal Actual rank of relative rank `v`. */
export function absolute(v: number, root: number, size: number): number {
  return (v + root) % size;
}

/** @internal Lowest set bit of `v > 0`. */
export function lowbit(v: number): number {
  return v & -v;
}

/** @internal Parent of relative rank `v > 0`. */
export function parent(v: number): number {
  return v - lowbit(v);
}

/** @internal Number of relative ranks in the subtree rooted at `v` (itself included). */
export function subtreeSize(v: number, size: number): number {
  return v === 0 ? size : Math.min(lowbit(v), size - v);
}

/** @internal Children of relative rank `v`, the largest subtree first (it has the longest way to go). */
export function children(v: number, size: number): number[] {
  let top = 1;
  if (v === 0) while (top < size) top *= 2;
  else top = lowbit(v);
  const out: number[] = [];
  for (let m = top / 2; m >= 1; m /= 2) if (v + m < size) out.push(v + m);
  return out;
}
