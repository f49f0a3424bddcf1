/** Where the labels are in an answer: a label list as it is, or a field (dotted path) of an object. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerShapeError, labelsFromAnswer, parseFieldPath } from '../../src/client/answer-field.js';

const LIST = [{ label: 'music', score: 0.9 }, { label: 'food', score: 0.1 }];

describe('answer field', () => {
  it('takes a label list as it is, with or without --field', () => {
    assert.deepEqual(labelsFromAnswer(LIST, null), LIST);
    assert.deepEqual(labelsFromAnswer(LIST, ['taxonomy']), LIST);
  });

  it('follows a dotted path into objects; null there means no label', () => {
    assert.deepEqual(labelsFromAnswer({ taxonomy: LIST, subtaxonomy: null }, ['taxonomy']), LIST);
    assert.deepEqual(labelsFromAnswer({ taxonomy: LIST, subtaxonomy: null }, ['subtaxonomy']), []);
    assert.deepEqual(labelsFromAnswer({ outputs: { labels: LIST } }, parseFieldPath('outputs.labels')), LIST);
  });

  it('says what the answer holds when the labels are not where it looks', () => {
    assert.throws(() => labelsFromAnswer({ taxonomy: LIST, subtaxonomy: null }, null), /an object with the fields taxonomy, subtaxonomy: name the one that holds the labels with --field/);
    assert.throws(() => labelsFromAnswer({ taxonomy: LIST }, ['genre']), /--field genre: the answer has no field "genre" \(its fields are taxonomy\)/);
    assert.throws(() => labelsFromAnswer({ a: { b: 1 } }, ['a', 'b']), /--field a\.b: expected \[\{"label", "score"\}, …\] or null there, got: 1/);
    assert.throws(() => labelsFromAnswer('Jazz', null), AnswerShapeError);
    // An inherited property is not a field of the answer.
    assert.throws(() => labelsFromAnswer({ taxonomy: LIST }, ['constructor']), /no field "constructor"/);
    assert.equal(parseFieldPath('a..b'), null);
  });
});
