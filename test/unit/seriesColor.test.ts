/**
 * webview/theme.ts seriesColor: the theme's six chart colours first, then the same hues mixed
 * toward the text colour, then toward the background: eighteen series (the shift scatter's ten
 * families, a run with many splits) never share a colour.
 *
 *   node --import tsx --test test/unit/seriesColor.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seriesColor, toRgb } from '../../webview/theme';
import { testTheme } from '../builders';

test('the first six series take the theme colours; 18 series are all distinct; the second six lie between each hue and the text colour', () => {
  const theme = testTheme();
  const colours = Array.from({ length: 18 }, (_, i) => seriesColor(theme, i));
  assert.deepEqual(colours.slice(0, 6), theme.series);
  assert.equal(new Set(colours.map((c) => toRgb(c).join(','))).size, 18);
  const [base, fg, second] = [toRgb(theme.series[0]), toRgb(theme.fg), toRgb(colours[6])];
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(second[k] - (base[k] + 0.45 * (fg[k] - base[k]))) <= 0.5, `channel ${k}`);
  assert.equal(seriesColor(theme, 18), theme.series[0], 'the cycle starts again after 18');
});
