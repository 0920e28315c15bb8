import type { Band, BandConfig } from './types.ts';

// Defaults: auto-link only when the model is very sure (a false merge costs more than a missed
// one); anything from even odds upward is worth a human look.
export const DEFAULT_BANDS: BandConfig = { p_auto: 0.99, p_review: 0.5 };

export function bandOf(p: number, bands: BandConfig): Band {
  if (p >= bands.p_auto) return 'auto';
  return p >= bands.p_review ? 'review' : 'reject';
}

export function validateBands(bands: BandConfig): string | undefined {
  const ok = (x: number): boolean => Number.isFinite(x) && x >= 0 && x <= 1;
  if (!ok(bands.p_auto) || !ok(bands.p_review)) return 'p_auto and p_review must be probabilities in [0, 1]';
  return bands.p_review <= bands.p_auto ? undefined : 'p_review must not exceed p_auto';
}
