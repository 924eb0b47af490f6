/**
 * Fixed-precision decimals. Prices travel as JSON numbers rounded to their instrument's
 * precision; these helpers make sure float noise (0.30000000000000004) never survives.
 */

const MAX_PLACES = 8;

function scaleOf(places: number): number {
  if (!Number.isInteger(places) || places < 0 || places > MAX_PLACES) {
    throw new RangeError(`places must be an integer between 0 and ${MAX_PLACES} (got ${places})`);
  }
  return 10 ** places;
}

/**
 * Rounds `value` to `places` decimals. Dividing the exact integer by an exact power of ten
 * yields the double nearest to the decimal, so the result prints without noise.
 */
export function roundTo(value: number, places: number): number {
  const scale = scaleOf(places);
  return Math.round(value * scale) / scale;
}

/** True when `value` is the double nearest to a decimal with at most `places` decimals. */
export function hasAtMostPlaces(value: number, places: number): boolean {
  return Number.isFinite(value) && roundTo(value, places) === value;
}
