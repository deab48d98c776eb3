/**
 * Deterministic noise for the simulated world. Stateless hashing (not a PRNG stream), so a
 * value depends only on (seed, key, minute): adding a behavior or a deployment in a
 * what-if run does not reshuffle the noise of every other box.
 */

const mix = (x: number): number => {
  // mulberry32's output function: good avalanche for a few integer multiplies.
  x = Math.imul(x ^ (x >>> 15), x | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return (x ^ (x >>> 14)) >>> 0;
};

/** A uniform number in [0, 1) determined by its three integer inputs. */
export const noise = (seed: number, key: number, minute: number): number =>
  mix((mix((mix((seed + 0x6d2b79f5) | 0) + key) | 0) + minute) | 0) / 4294967296;

/** FNV-1a hash of a string, as an integer key for `noise`. */
export const keyOf = (text: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

/** Rounds `value` up or down at random, so that the expected value is kept: 2.3 -> 2 or 3. */
export const stochasticRound = (value: number, u: number): number => {
  const whole = Math.floor(value);
  return value - whole > u ? whole + 1 : whole;
};
