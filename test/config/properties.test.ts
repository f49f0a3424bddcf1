import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '../../src/config/errors.js';
import { formatProperties, parseProperties } from '../../src/config/properties.js';

function parsed(text: string): Array<[string, string]> {
  return [...parseProperties(text)];
}

describe('parseProperties', () => {
  it('accepts =, : and whitespace as separators, with blanks around them', () => {
    assert.deepEqual(parsed('a=1\nb: 2\nc 3\nd  =  4\ne\t:\t5\nf=\ng\n'), [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['d', '4'],
      ['e', '5'],
      ['f', ''],
      ['g', ''],
    ]);
  });

  it('skips # and ! comments and blank lines, also when indented', () => {
    assert.deepEqual(parsed('# one\n  ! two\n\n   \n\t#three=3\nk=v\n'), [['k', 'v']]);
  });

  it('keeps trailing whitespace of values and drops leading whitespace', () => {
    assert.deepEqual(parsed('k =   v  \n'), [['k', 'v  ']]);
  });

  it('only the first separator counts; a second = or : is part of the value', () => {
    assert.deepEqual(parsed('a==b\nc = :d\nurl=http://h:8080\n'), [
      ['a', '=b'],
      ['c', ':d'],
      ['url', 'http://h:8080'],
    ]);
  });

  it('joins continuation lines and drops the indentation of the continued line', () => {
    assert.deepEqual(parsed('list=a,\\\n    b,\\\n\tc\nnext=1\n'), [
      ['list', 'a,b,c'],
      ['next', '1'],
    ]);
  });

  it('an even number of trailing backslashes is an escaped backslash, not a continuation', () => {
    assert.deepEqual(parsed('p=C:\\\\\nq=2\n'), [
      ['p', 'C:\\'],
      ['q', '2'],
    ]);
  });

  it('a comment line does not continue, but a continued line may start with #', () => {
    assert.deepEqual(parsed('#c=1\\\nx=2\ny=a\\\n#b\n'), [
      ['x', '2'],
      ['y', 'a#b'],
    ]);
  });

  it('drops a backslash that ends the file', () => {
    assert.deepEqual(parsed('k=v\\'), [['k', 'v']]);
  });

  it('handles \\r\\n and \\r line ends', () => {
    assert.deepEqual(parsed('a=1\r\nb=2\rc=3'), [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    assert.deepEqual(parsed('a=x\\\r\n  y\r\n'), [['a', 'xy']]);
  });

  it('resolves escapes in values and keys', () => {
    assert.deepEqual(parsed('v=\\t\\n\\r\\f\\\\\\u0041\\u00fc\\q\nk\\ e\\=y\\:z=1\n'), [
      ['v', '\t\n\r\f\\A\u00fcq'],
      ['k e=y:z', '1'],
    ]);
  });

  it('decodes surrogate pairs written as two \\u escapes', () => {
    assert.equal(parseProperties('e=\\uD83D\\uDE00').get('e'), '\u{1F600}');
  });

  it('throws ConfigError on a malformed \\uXXXX', () => {
    assert.throws(() => parseProperties('k=\\u12g4'), ConfigError);
    assert.throws(() => parseProperties('k=\\u12'), ConfigError);
  });

  it('keeps first-appearance order and lets a later duplicate win', () => {
    assert.deepEqual(parsed('a=1\nb=2\na=3\n'), [
      ['a', '3'],
      ['b', '2'],
    ]);
  });
});

describe('formatProperties', () => {
  it('writes header comments and key=value lines', () => {
    assert.equal(formatProperties([['a', '1'], ['b', 'x y']], ['first', 'second']), '#first\n#second\na=1\nb=x y\n');
  });

  it('escapes like Properties.store: specials, key spaces, a leading value space, non-ASCII', () => {
    const text = formatProperties([['a b=:#!', ' v=:#!\t\n\r\f\\ü\u0001']], []);
    assert.equal(text, 'a\\ b\\=\\:\\#\\!=\\ v\\=\\:\\#\\!\\t\\n\\r\\f\\\\\\u00FC\\u0001\n');
    assert.match(text, /^[\x20-\x7e\n]*$/);
  });

  it('turns a line break inside a comment into another comment line', () => {
    assert.equal(formatProperties([], ['one\ntwo\n#three']), '#one\n#two\n#three\n');
  });

  it('round-trips awkward keys and values through parseProperties', () => {
    const entries: Array<[string, string]> = [
      ['plain', 'value'],
      [' leading key', '  leading and trailing  '],
      ['sep=:chars', 'a=b:c#d!e'],
      ['empty', ''],
      ['unicode \u00e9\u4e2d', '\u{1F600} \u00e9 \u4e2d'],
      ['json', '{\n  "name": "x",\n  "models": {}\n}'],
      ['backslashes', 'C:\\dir\\\\end\\'],
      ['#comment-like', '!also'],
      ['controls', '\u0000\u0007\u001f\u007f'],
    ];
    const back = parseProperties(formatProperties(entries, ['header']));
    assert.deepEqual([...back], entries);
  });
});
