/** Reading and writing data files, row filters and the text sent per row. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DataError, readDataset, readDatasets, writeDataset } from '../../src/evaluation/dataset.js';
import { ColumnError, parseWhere, resolveTextColumns, rowText, selectRows } from '../../src/evaluation/row-select.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-dataset-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

describe('data files', () => {
  it('reads CSV with a BOM, quoted commas, quotes and newlines', () => {
    const p = file('a.csv', '\uFEFFid,title,description,taxonomy\n1,"Jazz, live","He said ""hi""\nsecond line",music\n\n2,Derby,,sports\n');
    const d = readDataset(p);
    assert.equal(d.format, 'csv');
    assert.deepEqual(d.columns, ['id', 'title', 'description', 'taxonomy']);
    assert.equal(d.rows.length, 2);
    assert.deepEqual(d.rows[0], { id: '1', title: 'Jazz, live', description: 'He said "hi"\nsecond line', taxonomy: 'music' });
    assert.equal(d.rows[1]!.description, '');
  });

  it('reads JSONL, with columns in first-seen order, and reports the bad line', () => {
    const p = file('a.jsonl', '{"id": "a", "title": "T", "subtaxonomy": null}\n\n{"id": "b", "extra": 1}\n');
    const d = readDataset(p);
    assert.deepEqual(d.columns, ['id', 'title', 'subtaxonomy', 'extra']);
    assert.equal(d.rows.length, 2);
    assert.throws(() => readDataset(file('bad.jsonl', '{"id": 1}\n{oops\n')), (e: unknown) => e instanceof DataError && /bad\.jsonl:2/.test(e.message));
    assert.throws(() => readDataset(file('arr.jsonl', '[1, 2]\n')), /expected a JSON object/);
  });

  it('reads several files as one and refuses unknown extensions, missing files and duplicate headers', () => {
    const both = readDatasets([file('x.jsonl', '{"a": 1}\n'), file('y.jsonl', '{"b": 2}\n{"a": 3}\n')]);
    assert.deepEqual(both.columns, ['a', 'b']);
    assert.equal(both.rows.length, 3);
    assert.throws(() => readDataset(file('a.txt', 'x')), /\.csv or \.jsonl/);
    assert.throws(() => readDataset(path.join(dir, 'missing.csv')), (e: unknown) => e instanceof DataError && /cannot read/.test(e.message));
    assert.throws(() => readDataset(file('dup.csv', 'a,a\n1,2\n')), /appears twice/);
  });

  it('writes CSV and JSONL that read back the same, lists as JSON in CSV', () => {
    const rows = [
      { id: '1', 'a.b': 'x, "y"', score: 0.25, top: [{ label: 'm', score: 0.25 }] },
      { id: '2', 'a.b': null, score: 1, top: null },
    ];
    const columns = ['id', 'a.b', 'score', 'top'];
    const csv = path.join(dir, 'out.csv');
    writeDataset(csv, 'csv', columns, rows);
    const back = readDataset(csv);
    assert.deepEqual(back.columns, columns);
    assert.deepEqual(back.rows[0], { id: '1', 'a.b': 'x, "y"', score: '0.25', top: '[{"label":"m","score":0.25}]' });
    assert.deepEqual(back.rows[1], { id: '2', 'a.b': '', score: '1', top: '' });
    const jsonl = path.join(dir, 'out.jsonl');
    writeDataset(jsonl, 'jsonl', columns, rows);
    assert.deepEqual(readDataset(jsonl).rows, rows);
    assert.equal(readFileSync(jsonl, 'utf8').split('\n').length, 3);
  });
});

describe('row selection', () => {
  const columns = ['id', 'title', 'description', 'taxonomy', 'subtaxonomy'];
  const rows = [
    { id: '1', title: 'Jazz night', description: 'Live quartet', taxonomy: 'music', subtaxonomy: 'jazz' },
    { id: '2', title: 'Derby', description: '', taxonomy: 'sports', subtaxonomy: null },
    { id: '3', title: 'Opera', description: 'Tosca', taxonomy: 'music', subtaxonomy: 'classical' },
  ];

  it('joins title and description with ". " by default, skipping empty cells', () => {
    const cols = resolveTextColumns(null, columns);
    assert.deepEqual(cols, ['title', 'description']);
    assert.equal(rowText(rows[0]!, cols), 'Jazz night. Live quartet');
    assert.equal(rowText(rows[1]!, cols), 'Derby');
    assert.deepEqual(resolveTextColumns(null, ['text', 'title']), ['text']);
    assert.deepEqual(resolveTextColumns(['description'], columns), ['description']);
    assert.throws(() => resolveTextColumns(['body'], columns), (e: unknown) => e instanceof ColumnError && /"body"/.test(e.message));
    assert.throws(() => resolveTextColumns(null, ['id']), /use --text-columns/);
  });

  it('filters with --where, all filters holding, null as empty', () => {
    assert.deepEqual(selectRows(rows, [parseWhere('taxonomy=music')!], columns).map((r) => r.id), ['1', '3']);
    assert.deepEqual(selectRows(rows, [parseWhere('taxonomy=music')!, parseWhere('subtaxonomy=jazz')!], columns).map((r) => r.id), ['1']);
    assert.deepEqual(selectRows(rows, [parseWhere('subtaxonomy=')!], columns).map((r) => r.id), ['2']);
    assert.deepEqual(parseWhere('a=b=c'), { column: 'a', value: 'b=c' });
    assert.equal(parseWhere('=x'), null);
    assert.equal(parseWhere('novalue'), null);
    assert.throws(() => selectRows(rows, [parseWhere('lang=en')!], columns), /--where: no column "lang"/);
  });
});
