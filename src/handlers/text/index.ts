/**
 * The text toolkit for handler authors (`import { TextModel } from 'ortserve/text'`): what the built-in
 * text_classifier is made of, to build handlers that run several text models or answer differently.
 */
export { TextModel, argmax } from './text-model.js';
export { parseTextRequest, prepareBatch, type InvalidRequest, type PreparedBatch, type TextRequest } from './batch.js';
export { prepareText, cleanEventText, keepFirstAndLastSentences, type TextPreparation } from './event-cleaning.js';
