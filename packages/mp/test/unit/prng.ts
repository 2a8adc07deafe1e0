// A small seeded PRNG for reproducible randomized tests (xorshift32 with a
// scrambled seed): the same seed always yields the same sequence.
export class Prng {
  #state: number;

  constructor(seed: number) {
    // Scramble so nearby seeds diverge at once; never let the state be 0.
    let s = (seed ^ 0x9e37_79b9) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85eb_ca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2_ae35) >>> 0;
    this.#state = (s ^ (s >>> 16)) >>> 0 || 1;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}
