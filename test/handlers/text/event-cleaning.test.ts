import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanEventText, keepFirstAndLastSentences, prepareText, splitSentences, transliterateAccents } from '../../../src/handlers/text/event-cleaning.js';

describe('the taxonomy handler text preparation', () => {
  it('drops words with non-ASCII characters, keeping their sentence ends', () => {
    assert.equal(cleanEventText('Concierto en Córdoba. Entradas 20 €, aforo limitado.'), 'concierto en. entradas 20, aforo limitado.');
    assert.equal(cleanEventText('¡Música en vivo! Jazz night'), 'en vivo jazz night');
  });

  it('drops e-mail handles and URLs, bare domains included, but not times or decimals', () => {
    const text = 'Info: info@club.example.com or https://club.example.com/tickets?id=3, www.club.example.org. Doors 19.30, fee 12.50 EUR.';
    assert.equal(cleanEventText(text), 'info or. doors 19.30, fee 12.50 eur.');
    assert.equal(cleanEventText('Book at festival.example.es/entradas. Bring water.'), 'book at. bring water.');
    assert.equal(cleanEventText('(See tickets.example.com)'), 'see');
  });

  it('keeps only letters, digits, spaces, dots and commas, lower-cased', () => {
    assert.equal(cleanEventText("ROCK'N'ROLL Night: 3 bands (live!) — 8pm #gig"), 'rocknroll night 3 bands live 8pm gig');
    assert.equal(cleanEventText('A   lot\tof\n\nspace ...'), 'a lot of space.');
  });

  it('transliterates accents instead of dropping the words, when asked to', () => {
    assert.equal(transliterateAccents('¡Música en Córdoba! Niños, «Año» – 9 €'), ' Musica en Cordoba! Ninos,  Ano    9  ');
    const p = { transliterate: true, cleanText: true, keepSentences: null };
    assert.equal(prepareText('Concierto en Córdoba. Entradas 20 €, aforo limitado.', p), 'concierto en cordoba. entradas 20, aforo limitado.');
    assert.equal(prepareText('Concierto en Córdoba.', { ...p, transliterate: false }), 'concierto en.');
  });

  it('gives an empty text for a text with nothing ASCII left', () => {
    assert.equal(cleanEventText('¡Fútbol! Música…'), '');
  });

  it('splits sentences at a dot followed by space only', () => {
    assert.deepEqual(splitSentences('one at 10.30. two. three'), ['one at 10.30.', 'two.', 'three']);
  });

  it('keeps the first two and last two sentences when there are four or more', () => {
    assert.equal(keepFirstAndLastSentences('a. b. c.', 2), 'a. b. c.');
    assert.equal(keepFirstAndLastSentences('a. b. c. d.', 2), 'a. b. c. d.');
    assert.equal(keepFirstAndLastSentences('a. b. c. d. e. f.', 2), 'a. b. e. f.');
  });

  it('cleans before cutting sentences, so URLs do not count as sentence ends', () => {
    const text = 'Jazz trio live. Great food. Tickets at www.x.example.com/a.b.c now. Parking nearby. Doors 8pm. See you!';
    assert.equal(prepareText(text, { cleanText: true, keepSentences: 2 }), 'jazz trio live. great food. doors 8pm. see you');
    assert.equal(prepareText(text, { cleanText: false, keepSentences: null }), text);
  });
});
