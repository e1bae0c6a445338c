import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { CONTROL, PERTURBATIONS, parseVary, perturbed } from './perturbations.js';

test('--vary: all by default; a list chooses; "-name" leaves out; order is the catalogue\'s', () => {
  assert.deepEqual(parseVary(undefined), [...PERTURBATIONS]);
  assert.deepEqual(parseVary(['time,tz']), ['tz', 'time']);
  assert.deepEqual(parseVary(['tz', 'workers']), ['tz', 'workers']);
  assert.deepEqual(parseVary(['-time', '-cache']), ['tz', 'locale', 'umask', 'home', 'cwd', 'shuffle', 'workers']);
  assert.deepEqual(parseVary(['all,-shuffle']), PERTURBATIONS.filter((p) => p !== 'shuffle'));
  assert.throws(() => parseVary(['tz,nope']), (e) => isStrataError(e, 'USAGE') && /"nope" is not a perturbation/.test(e.message));
});

test('a perturbed setting changes only its own field', () => {
  assert.deepEqual(perturbed([]), CONTROL);
  assert.deepEqual(perturbed(['tz']), { ...CONTROL, tz: 'Pacific/Kiritimati' });
  assert.deepEqual(perturbed(['time', 'workers']), { ...CONTROL, clockOffset: 315360000, workers: 4 });
  assert.deepEqual(perturbed(['cache']), { ...CONTROL, cache: 'warm' });
});
