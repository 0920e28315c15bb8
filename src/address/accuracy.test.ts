import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hearth, loadLabelled, score } from '../../bench/address.ts';

// The training split only (the test split is for the benchmark). The floor is what the parser
// measured when this test was written, less a little: it catches regressions, not tuning.
const TRAINING = new URL('../../test-support/data/usaddress/training/', import.meta.url);

test('field accuracy on the usaddress training files stays above its measured floor', () => {
  const labelled = score(loadLabelled(new URL('labeled.xml', TRAINING)), hearth);
  const messy = score(loadLabelled(new URL('us50_messiest_manual_label.xml', TRAINING)), hearth);
  console.log(`# training accuracy: labeled.xml ${labelled.field_accuracy}%, us50_messiest ${messy.field_accuracy}%`);
  assert.ok(labelled.field_accuracy >= FLOOR.labeled, `labeled.xml ${labelled.field_accuracy}%`);
  assert.ok(messy.field_accuracy >= FLOOR.messy, `messiest ${messy.field_accuracy}%`);
});

const FLOOR = { labeled: 83, messy: 99 };
