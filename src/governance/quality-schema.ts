import { z } from 'zod';
import { PERSON_FIELDS } from './minimise.ts';
import { retentionSchema } from './retention.ts';

const FIELDS = ['given_name', 'family_name', 'email', 'phone', 'address'] as const;

const rule = z
  .object({
    name: z.string().min(1).describe('Shown in the review queue and the alert.'),
    field: z.enum(FIELDS).describe('The canonical field the rule checks.'),
    check: z
      .enum(['required', 'format', 'allowed', 'plausible', 'max_change_rate'])
      .describe(
        'required: may not be cleared; format: matches `pattern`; allowed: one of `values`; plausible: a ' +
          'possible phone / e-mail / deliverable-looking address; max_change_rate: at most `max_rate` of the ' +
          'customers changed in this field by one source within `window_minutes`.',
      ),
    pattern: z.string().min(1).optional().describe('format: a regular expression the whole value must match.'),
    values: z.array(z.string()).min(1).optional().describe('allowed: the values accepted.'),
    max_rate: z.number().gt(0).max(1).optional().describe('max_change_rate: e.g. 0.05 for 5%.'),
    window_minutes: z.number().int().min(1).default(60).describe('max_change_rate: the window.'),
    min_changes: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe('max_change_rate: changes in the window before the rate counts (small stores).'),
    action: z
      .enum(['quarantine', 'breaker'])
      .default('quarantine')
      .describe('quarantine: hold the change for review; breaker: also pause the source (flag breaker.<source>).'),
  })
  .refine((r) => r.check !== 'format' || r.pattern, { message: 'a format rule needs pattern' })
  .refine((r) => r.check !== 'allowed' || r.values, { message: 'an allowed rule needs values' })
  .refine((r) => r.check !== 'max_change_rate' || r.max_rate, { message: 'a max_change_rate rule needs max_rate' })
  .refine(
    (r) => {
      if (!r.pattern) return true;
      try {
        new RegExp(r.pattern);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'pattern is not a valid regular expression' },
  );

/** Config `governance`: quality rules per field (governance/quality.ts). */
export const governanceSchema = z
  .object({
    quality: z
      .object({ rules: z.array(rule).default([]).describe('Checked at ingest, in order; see check.') })
      .prefault({}),
    minimisation: z
      .record(z.string(), z.array(z.enum(PERSON_FIELDS)))
      .default({})
      .describe(
        'Per connector, the canonical person fields that may leave Hearth to it (others are blanked in ' +
          'payloads; a write of only those is not queued). A connector not listed receives every field.',
      ),
    retention: retentionSchema.describe('How long personal data is kept (enforced by `hearth serve`).'),
  })
  .prefault({});

export type QualityRule = z.infer<typeof rule>;
export type GovernanceSettings = z.infer<typeof governanceSchema>;
