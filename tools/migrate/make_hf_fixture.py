#!/usr/bin/env python3
"""
Builds the files of a TorchServe Hugging Face archive, as TorchServe's Huggingface_Transformers example
makes them, for the test of `ortserve-migrate` (test/cli/migrate.hf.ts): a tiny BERT sequence classifier
made from a config written here (nothing is downloaded), its tokenizer from the vocabulary in
test/fixtures/migrate/vocab.txt, trained for a few seconds on test/fixtures/migrate/train.json so that
different texts get different labels, saved with save_pretrained; setup_config.json, index_to_name.json,
a sample text file and a stand-in for TorchServe's Transformer_handler_generalized.py.

  python3 make_hf_fixture.py OUT_DIR [--text TEXT ...]

The model is saved twice: OUT_DIR/Transformer_model as transformers 4 saved it for TorchServe's example
(pytorch_model.bin; the tokenizer as vocab.txt + tokenizer_config.json, no tokenizer.json) and
OUT_DIR/Transformer_model_safetensors as transformers 5 saves it (model.safetensors, tokenizer.json).

Prints JSON: for each --text, the probabilities the trained PyTorch model gives it when the text is
prepared as TorchServe's handler prepares it (padded to max_length), the test's expected answers.
"""
import argparse
import json
import os
import shutil

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'migrate')
LABELS = ['sport', 'weather', 'food']
MAX_LENGTH = 24
# What TorchServe's example writes in setup_config.json (values as strings, as there).
SETUP_CONFIG = {'model_name': 'tiny-bert', 'mode': 'sequence_classification', 'do_lower_case': True, 'num_labels': '3',
                'save_mode': 'pretrained', 'max_length': str(MAX_LENGTH), 'captum_explanation': False,
                'embedding_name': 'bert', 'FasterTransformer': False, 'BetterTransformer': False, 'model_parallel': False}


def train(model, tokenizer):
    with open(os.path.join(FIXTURES, 'train.json')) as f:
        examples = [(text, LABELS.index(label)) for label, texts in json.load(f).items() for text in texts]
    batch = tokenizer([t for t, _ in examples], padding=True, return_tensors='pt')
    target = torch.tensor([label for _, label in examples])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(150):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(**batch).logits, target)
        loss.backward()
        optimiser.step()
    return model.eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out')
    parser.add_argument('--text', action='append', default=[])
    args = parser.parse_args()
    torch.manual_seed(17)
    model_dir = os.path.join(args.out, 'Transformer_model')
    new_dir = os.path.join(args.out, 'Transformer_model_safetensors')
    os.makedirs(model_dir, exist_ok=True)
    shutil.copy(os.path.join(FIXTURES, 'vocab.txt'), os.path.join(model_dir, 'vocab.txt'))
    # from_pretrained reads vocab.txt in every transformers release (v5's constructor ignores vocab_file).
    tokenizer = BertTokenizerFast.from_pretrained(model_dir, do_lower_case=True, model_max_length=MAX_LENGTH, local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=len(LABELS),
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    assert tokenizer.unk_token_id not in tokenizer('the team scored')['input_ids'], 'the vocabulary was not read'
    model = train(BertForSequenceClassification(config), tokenizer)
    model.save_pretrained(new_dir)
    tokenizer.save_pretrained(new_dir)
    # The old layout: the converter must load pytorch_model.bin and build tokenizer.json from vocab.txt.
    torch.save(model.state_dict(), os.path.join(model_dir, 'pytorch_model.bin'))
    for name in ('config.json', 'tokenizer_config.json'):
        shutil.copy(os.path.join(new_dir, name), os.path.join(model_dir, name))
    with open(os.path.join(args.out, 'setup_config.json'), 'w') as f:
        json.dump(SETUP_CONFIG, f, indent=1)
    with open(os.path.join(args.out, 'index_to_name.json'), 'w') as f:
        json.dump({str(i): l.capitalize() for i, l in enumerate(LABELS)}, f)
    with open(os.path.join(args.out, 'sample_text.txt'), 'w') as f:
        f.write('The keeper made a great save in the final minute of the match.')
    with open(os.path.join(args.out, 'Transformer_handler_generalized.py'), 'w') as f:
        f.write('# Stands for TorchServe\'s examples/Huggingface_Transformers/Transformer_handler_generalized.py.\n'
                'from ts.torch_handler.base_handler import BaseHandler\n\n\n'
                'class TransformersSeqClassifierHandler(BaseHandler):\n    pass\n')
    expected = {}
    with torch.no_grad():
        for text in args.text:
            enc = tokenizer(text, max_length=MAX_LENGTH, padding='max_length', truncation=True, return_tensors='pt')
            expected[text] = torch.softmax(model(enc['input_ids'], enc['attention_mask']).logits[0], dim=0).tolist()
    print(json.dumps({'labels': [l.capitalize() for l in LABELS], 'probabilities': expected}))


if __name__ == '__main__':
    main()
