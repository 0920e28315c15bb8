import type { Band, BandConfig } from './types.ts';

// Defaults: auto-link from 0.95, anything from even odds upward is worth a human look. Set from
// the calibration the bench prints (predicted vs observed match rate per probability band, no
// labels used to fit): pairs scored 0.95-0.99 were true in 100% of FEBRL 1-4's 303 and 94-96%
// of synthetic people's 1,354 (100k), and the chaining guard refuses most of the wrong ones, so
// linked precision stays 1.000 on FEBRL and 0.9994 on synthetic 100k (recall +0.6 to +1.7 points
// against 0.99). At 0.9 FEBRL 3 precision falls to 0.9992. Ingest uses the same value (config
// `identity.auto_link`, default 0.95).
export const DEFAULT_BANDS: BandConfig = { p_auto: 0.95, p_review: 0.5 };

export function bandOf(p: number, bands: BandConfig): Band {
  if (p >= bands.p_auto) return 'auto';
  return p >= bands.p_review ? 'review' : 'reject';
}

export function validateBands(bands: BandConfig): string | undefined {
  const ok = (x: number): boolean => Number.isFinite(x) && x >= 0 && x <= 1;
  if (!ok(bands.p_auto) || !ok(bands.p_review)) return 'p_auto and p_review must be probabilities in [0, 1]';
  return bands.p_review <= bands.p_auto ? undefined : 'p_review must not exceed p_auto';
}
