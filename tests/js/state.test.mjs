// Pure parts of the page's state: which parameters apply, and the number of classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applies, numClasses } from '../../frontend/static/js/state.js';
import { sweepRequest } from '../../frontend/static/js/sweeppanel.js';
import { runLabel } from '../../frontend/static/js/runcard.js';
import { linkLang, linkInLang } from '../../frontend/static/js/i18n.js';

test('a parameter applies when every `only_when` condition holds', () => {
  const momentum = { name: 'momentum', only_when: { optimizer: ['momentum', 'nesterov'] } };
  assert.ok(applies(momentum, { optimizer: 'nesterov' }));
  assert.ok(!applies(momentum, { optimizer: 'adam' }));
  assert.ok(applies({ name: 'seed' }, { optimizer: 'adam' }));
  assert.ok(applies(momentum, null)); // before the first config everything shows
  const both = { only_when: { problem: ['classification'], numClasses: ['3', '4'] } };
  assert.ok(applies(both, { problem: 'classification', numClasses: 3 }));
  assert.ok(!applies(both, { problem: 'regression', numClasses: 3 }));
});

test('the class count comes from the model, then the data, else two', () => {
  assert.equal(numClasses({ model: { num_classes: 4 }, data: { numClasses: 2 } }), 4);
  assert.equal(numClasses({ model: null, data: { numClasses: 1 } }), 1);
  assert.equal(numClasses({ model: null, data: null }), 2);
});

const base = { link: 'dataset=xor', config: { networkShape: [4, 2], regularization: 'none' } };

test('a width sweep widens every hidden layer; a depth sweep repeats the first width', () => {
  assert.deepEqual(sweepRequest('width', '1, 3', base).values, ['1,1', '3,3']);
  assert.deepEqual(sweepRequest('depth', '0,2', base).values, ['', '4,4']);
  assert.throws(() => sweepRequest('width', '0,2', base), /sweepWholeNumbers/);
  assert.throws(() => sweepRequest('depth', '1.5', base), /sweepWholeNumbers/);
});

test('sweep values must be numbers, and λ without a penalty is swept with L2', () => {
  assert.throws(() => sweepRequest('learningRate', ' , ', base), /sweepNoValues/);
  assert.throws(() => sweepRequest('learningRate', '0.1,fast', base), /sweepNotNumber/);
  const lr = sweepRequest('learningRate', '0.1, 0.3', base);
  assert.deepEqual(lr, { link: 'dataset=xor', param: 'learningRate', values: ['0.1', '0.3'], labels: ['0.1', '0.3'], note: '' });
  const lam = sweepRequest('regularizationRate', '0,0.01', base);
  assert.equal(lam.link, 'dataset=xor&regularization=L2');
  assert.notEqual(lam.note, '');
});

test('a run without overrides is named by its number', () => {
  // No catalogue is loaded here, so messages read as their keys.
  assert.equal(runLabel(1, {}), 'ui.run');
  assert.equal(runLabel(0, { networkShape: [4, 2] }), 'param.networkShape.label = 4, 2');
});

test('the language comes from `lang=` in the query or the hash, English otherwise', () => {
  assert.equal(linkLang({ search: '?a=1&lang=zh', hash: '' }), 'zh');
  assert.equal(linkLang({ search: '', hash: '#lang=zh' }), 'zh');
  assert.equal(linkLang({ search: '?lang=xx', hash: '' }), 'en');
  assert.equal(linkLang({ search: '?slang=zh', hash: '' }), 'en');
  const loc = { pathname: '/compare', search: '?runs=2&networkShape=4,2', hash: '#lang=zh' };
  assert.equal(linkInLang('en', loc), '/compare?runs=2&networkShape=4,2');
  assert.equal(linkInLang('zh', { ...loc, hash: '' }), '/compare?runs=2&networkShape=4,2&lang=zh');
});
