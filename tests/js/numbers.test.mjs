// Numbers as the page writes and reads them: weight values, gradient norms, layer colours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatValue, parseValue } from '../../frontend/static/js/paramedit.js';
import { formatNorm, layerColor } from '../../frontend/static/js/gradchart.js';

test('a weight shows three decimals with a true minus sign', () => {
  assert.equal(formatValue(0.5), '0.500');
  assert.equal(formatValue(-1.23456), '−1.235');
  assert.equal(formatValue(0), '0.000');
});

test('a weight far from 1 shows with an exponent', () => {
  assert.equal(formatValue(0.0001234), '1.23e−4');
  assert.equal(formatValue(-0.0001234), '−1.23e−4');
  assert.equal(formatValue(-250000), '−2.50e+5');
  assert.equal(formatValue(99999), '99999.000');
});

test('typed values are read with either minus sign, and nothing is not a number', () => {
  assert.equal(parseValue(' −0.25 '), -0.25);
  assert.equal(parseValue('-3'), -3);
  assert.equal(parseValue('1e-3'), 0.001);
  assert.ok(Number.isNaN(parseValue('')));
  assert.ok(Number.isNaN(parseValue('   ')));
  assert.ok(Number.isNaN(parseValue('abc')));
});

test('what the tooltip shows reads back as the same value to three decimals', () => {
  for (const v of [-2.5, -0.125, 0.333, 1.5, 12.75]) {
    assert.ok(Math.abs(parseValue(formatValue(v)) - v) < 5e-4, String(v));
  }
  // Small values keep three significant digits, whichever their sign.
  for (const v of [1.234e-4, -1.234e-4, 2.5e-7]) {
    const back = parseValue(formatValue(v));
    assert.ok(Math.abs(back - v) <= Math.abs(v) * 5e-3, `${v} → ${formatValue(v)} → ${back}`);
  }
});

test('a gradient norm keeps two significant digits near 1 and an exponent far from it', () => {
  assert.equal(formatNorm(2.345), '2.3');
  assert.equal(formatNorm(0.01432), '0.014');
  assert.equal(formatNorm(450), '450');
  assert.equal(formatNorm(999), '1000'); // two digits round up into the next decade
  assert.equal(formatNorm(3.2e-5), '3e-5');
  assert.equal(formatNorm(12345), '1e4');
  assert.equal(formatNorm(null), '—');
  assert.equal(formatNorm(undefined), '—');
});

test('layers run from dark teal (first) to light yellow-green (last)', () => {
  assert.equal(layerColor(0, 4), 'hsl(175, 65%, 18%)');
  assert.equal(layerColor(3, 4), 'hsl(85, 65%, 58%)');
  assert.equal(layerColor(0, 1), 'hsl(175, 65%, 18%)'); // one layer: no division by zero
});
