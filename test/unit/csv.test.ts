// CSV of every export (core/text/csv.ts): RFC 4180 quoting and the spreadsheet-formula guard.
import { strict as assert } from 'node:assert';
import { csvDocument, csvField } from '../../src/core/text/csv';

describe('CSV', () => {
  it('quotes fields with commas, quotes and line breaks, and leaves plain ones alone', () => {
    assert.equal(csvField('dense'), 'dense');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(null), '');
    assert.equal(csvField(undefined), '');
  });

  it('writes numbers as JavaScript prints them, and non-finite ones as empty', () => {
    assert.equal(csvField(-0.5), '-0.5');
    assert.equal(csvField(1e-7), '1e-7');
    assert.equal(csvField(NaN), '');
    assert.equal(csvField(Infinity), '');
  });

  it('guards text a spreadsheet would run as a formula, but not numbers written as text', () => {
    assert.equal(csvField('=HYPERLINK("http://x")'), '"\'=HYPERLINK(""http://x"")"');
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField('+cmd'), "'+cmd");
    assert.equal(csvField('-0.25'), '-0.25');
    assert.equal(csvField('+1e3'), '+1e3');
    assert.equal(csvField('−0.25'), '−0.25'); // a Unicode minus is not a formula
  });

  it('a document: header, rows, \\n line ends and a final newline', () => {
    assert.equal(csvDocument([['dose', 'value'], [1000, 0.5], ['1e4', null]]), 'dose,value\n1000,0.5\n1e4,\n');
  });
});
