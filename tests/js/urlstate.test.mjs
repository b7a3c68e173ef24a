// The address bar codec: what the page reads from a link and the share string it writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkText, hiddenFromLink, shareQuery } from '../../frontend/static/js/urlstate.js';

const loc = (search, hash = '') => ({ search, hash, pathname: '/' });

test('a link joins the query and the hash, in that order', () => {
  assert.equal(linkText(loc('?learningRate=0.1&seed=3', '#dataset=xor')), 'learningRate=0.1&seed=3&dataset=xor');
  assert.equal(linkText(loc('', '#dataset=xor')), 'dataset=xor');
  assert.equal(linkText(loc('', '')), '');
});

test('controls are hidden by `_hide` keys set to true or 1 only', () => {
  const hidden = hiddenFromLink('learningRate_hide=true&seed_hide=1&dataset_hide=false&noise=0&net%20x_hide=TRUE');
  assert.deepEqual([...hidden].sort(), ['learningRate', 'net x', 'seed']);
  assert.equal(hiddenFromLink('').size, 0);
});

test('the share string keeps the server query and appends the hidden keys sorted', () => {
  const hidden = new Set(['seed', 'activation']);
  assert.equal(
    shareQuery('dataset=xor&seed_hide=true&learningRate=0.03', hidden),
    'dataset=xor&learningRate=0.03&activation_hide=true&seed_hide=true',
  );
  assert.equal(shareQuery('', new Set()), '');
});

test('reading back a shared link hides the same controls', () => {
  const hidden = new Set(['noise', 'batchSize']);
  assert.deepEqual(hiddenFromLink(shareQuery('noise=10', hidden)), hidden);
});
