"""
The Hugging Face half of `ortserve-migrate` (ortserve_migrate.py calls it): a TorchServe archive made
as TorchServe's Huggingface_Transformers example makes them (its Transformer_handler_generalized.py,
`setup_config.json` or model-config.yaml's `handler:` section with `mode: sequence_classification`,
`save_mode: pretrained`, the weights as pytorch_model.bin or model.safetensors beside config.json and the
tokenizer's files, index_to_name.json). The model is loaded with transformers as that handler loads it,
exported with torch.onnx.export (input_ids, attention_mask → logits, dynamic batch and sequence), and the
tokenizer is saved as tokenizer.json, which ortserve's text_classifier reads.

check.json gets what the original model answers for each sample text, computed as TorchServe's handler
computes it: the text padded to max_length (ortserve pads to the longest text of the batch instead; the
attention mask makes both give the same logits up to float error), the model called with input_ids and
attention_mask, softmax of the logits. Needs torch and transformers (any release that loads the model).
"""
import ast
import inspect
import json
import os
import shutil

import torch

# Texts checked when the archive has no sample text file and none is given with --sample.
DEFAULT_TEXTS = [
    'The match went to extra time and the home side scored twice.',
    'Heavy rain and strong wind are expected along the coast tomorrow.',
    'Bake the bread for forty minutes, then let it cool on a rack.',
    'I have no idea what this sentence is about.',
]
# Files of the archive that are never sample texts.
NOT_SAMPLES = {'vocab.txt', 'merges.txt', 'requirements.txt', 'spiece.model'}
# What setup_config.json / the handler: section may set that ortserve's text_classifier reads.
TEXT_SETTINGS = ('max_length', 'do_lower_case')


class HfMigrationError(Exception):
    pass


def handler_config(archive):
    """TorchServe's handler reads model-config.yaml's `handler:`; older archives ship setup_config.json."""
    config = {}
    setup = os.path.join(archive, 'setup_config.json')
    if os.path.exists(setup):
        with open(setup) as f:
            config.update(json.load(f))
    yaml_config = read_yaml(archive)
    if isinstance(yaml_config.get('handler'), dict):
        config.update(yaml_config['handler'])
    return config


def read_yaml(archive):
    path = os.path.join(archive, 'model-config.yaml')
    if not os.path.exists(path):
        return {}
    import yaml  # transformers depends on PyYAML
    with open(path) as f:
        loaded = yaml.safe_load(f)
    return loaded if isinstance(loaded, dict) else {}


def is_hf_archive(archive):
    return os.path.exists(os.path.join(archive, 'config.json')) and 'mode' in handler_config(archive)


def as_bool(value):
    return value if isinstance(value, bool) else str(value).strip().lower() in ('true', '1', 'yes')


class Logits(torch.nn.Module):
    """TorchServe's handler calls model(input_ids, attention_mask); the graph returns the logits alone."""
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def load(archive, manifest, config):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    mode = config.get('mode')
    if mode != 'sequence_classification':
        raise HfMigrationError(f'the archive\'s Hugging Face mode is "{mode}": ortserve-migrate converts sequence_classification '
                               f'(ortserve\'s text_classifier); other modes need a TypeScript handler')
    if config.get('save_mode', 'pretrained') != 'pretrained':
        raise HfMigrationError(f'save_mode "{config.get("save_mode")}" is not converted: archive the model with save_pretrained '
                               f'(pytorch_model.bin or model.safetensors + config.json), as TorchServe\'s pretrained mode does')
    weights = manifest.get('serializedFile', '')
    if os.path.basename(weights) not in ('pytorch_model.bin', 'model.safetensors'):
        raise HfMigrationError(f'the serialized file is {weights}: a pretrained Hugging Face archive has pytorch_model.bin or model.safetensors')
    try:
        # SDPA attention exports as a graph ONNX Runtime's CPU provider runs more slowly; eager is the plain one.
        model = AutoModelForSequenceClassification.from_pretrained(archive, local_files_only=True, attn_implementation='eager')
    except TypeError:
        model = AutoModelForSequenceClassification.from_pretrained(archive, local_files_only=True)
    lower = config.get('do_lower_case')
    try:
        kwargs = {} if lower is None else {'do_lower_case': as_bool(lower)}
        tokenizer = AutoTokenizer.from_pretrained(archive, local_files_only=True, use_fast=True, **kwargs)
    except (OSError, ValueError) as e:
        raise HfMigrationError(f'the archive has no tokenizer files (vocab.txt, tokenizer.json …) that transformers can load without '
                               f'the hub ({e}); add them with --extra-files') from e
    if not tokenizer.is_fast:
        raise HfMigrationError('the tokenizer has no fast (tokenizer.json) form, which ortserve\'s text_classifier needs')
    return model.eval(), tokenizer


def export(model, out):
    path = os.path.join(out, 'model.onnx')
    example = (torch.ones(1, 8, dtype=torch.long), torch.ones(1, 8, dtype=torch.long))
    kwargs = dict(input_names=['input_ids', 'attention_mask'], output_names=['logits'], opset_version=14,
                  dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'sequence'},
                                'logits': {0: 'batch'}})
    # torch >= 2.9 exports with dynamo by default; the TorchScript exporter takes dynamic_axes as given.
    if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
        kwargs['dynamo'] = False
    with torch.no_grad():
        torch.onnx.export(Logits(model), example, path, **kwargs)
    return path


def sample_text(path):
    """A sample file's text; TorchServe's examples also write {"text": ..., "target": n} for Captum."""
    with open(path, encoding='utf-8') as f:
        content = f.read()
    try:
        parsed = ast.literal_eval(content.strip())
        if isinstance(parsed, dict) and isinstance(parsed.get('text'), str):
            return parsed['text']
    except (ValueError, SyntaxError):
        pass
    return content


def samples(archive, extra):
    found = [os.path.join(archive, n) for n in sorted(os.listdir(archive))
             if n.lower().endswith('.txt') and n not in NOT_SAMPLES]
    named = [(os.path.basename(p), sample_text(p)) for p in list(extra) + found]
    return named or [(f'text {i + 1}', t) for i, t in enumerate(DEFAULT_TEXTS)]


def labels(archive, model):
    path = os.path.join(archive, 'index_to_name.json')
    if os.path.exists(path):
        with open(path) as f:
            return {str(k): str(v) for k, v in json.load(f).items()}
    return {str(k): str(v) for k, v in model.config.id2label.items()}


def torchserve_answer(model, tokenizer, text, max_length, mapping):
    """The original model's probabilities, best first, on the text as TorchServe's handler prepares it."""
    inputs = tokenizer(text, max_length=max_length, padding='max_length', truncation=True, add_special_tokens=True, return_tensors='pt')
    with torch.no_grad():
        probs = torch.softmax(model(inputs['input_ids'], inputs['attention_mask'])[0][0], dim=0)
    ranked = sorted(enumerate(probs.tolist()), key=lambda p: -p[1])
    return [[mapping.get(str(i), str(i)), p] for i, p in ranked]


def write_model_config(archive, config, out):
    """model-config.yaml: the archive's own (minWorkers, batchSize …) with a `handler:` section ortserve reads."""
    import yaml
    merged = read_yaml(archive)
    # pt2 (torch.compile) settings mean nothing to ONNX Runtime.
    merged.pop('pt2', None)
    merged['handler'] = {k: (int(config[k]) if k == 'max_length' else as_bool(config[k])) for k in TEXT_SETTINGS if k in config}
    with open(os.path.join(out, 'model-config.yaml'), 'w') as f:
        yaml.safe_dump(merged, f, sort_keys=False)


def migrate(archive, manifest, out, extra_samples):
    """Writes model.onnx, the tokenizer, config.json, index_to_name.json and model-config.yaml into out."""
    config = handler_config(archive)
    model, tokenizer = load(archive, manifest, config)
    export(model, out)
    tokenizer.save_pretrained(out)
    # config.json carries id2label and max_position_embeddings, which text_classifier reads.
    shutil.copy(os.path.join(archive, 'config.json'), os.path.join(out, 'config.json'))
    mapping = labels(archive, model)
    with open(os.path.join(out, 'index_to_name.json'), 'w') as f:
        json.dump(mapping, f)
    write_model_config(archive, config, out)
    max_length = int(config.get('max_length', tokenizer.model_max_length if tokenizer.model_max_length < 1e9 else 512))
    checked = [{'name': name, 'text': text, 'answer': torchserve_answer(model, tokenizer, text, max_length, mapping)}
               for name, text in samples(archive, extra_samples)]
    files = ['config.json', 'index_to_name.json'] + [n for n in ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json')
                                                     if os.path.exists(os.path.join(out, n))]
    return {'handler': 'text_classifier', 'model': 'pretrained', 'files': files, 'samples': checked}
