#!/usr/bin/env python3
"""
The PyTorch half of `ortserve-migrate` (src/cli/migrate.ts runs it): reads a TorchServe archive whose
model is a torchvision-style image classifier, segmenter or detector, as an eager model (--model-file
+ a state dict) or TorchScript, exports it with torch.onnx.export, and writes into OUT_DIR what the
ortserve archive needs (model.onnx, index_to_name.json, model-config.yaml) plus check.json: the answers
TorchServe's handler would give (PIL decode, its transforms, the original PyTorch model) on the
archive's sample images, which the Node half compares with ortserve's answers. An archive of a Hugging
Face sequence classifier (TorchServe's Transformer handler) is converted by hf_text.py, beside this file.

  python3 ortserve_migrate.py ARCHIVE_DIR OUT_DIR [--sample FILE ...]

ARCHIVE_DIR is the extracted .mar. Needs torch, torchvision and PIL (Debian: python3-torch,
python3-torchvision, python3-pil); transformers for Hugging Face archives.
"""
import argparse
import importlib.util
import inspect
import io
import json
import os
import shutil
import sys
import zipfile

import torch
import torch.nn.functional as F

import hf_text

VISION_HANDLERS = ('image_classifier', 'image_segmenter', 'object_detector')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.gif', '.webp', '.tif', '.tiff')


class MigrationError(Exception):
    pass


def read_manifest(archive):
    with open(os.path.join(archive, 'MAR-INF', 'MANIFEST.json')) as f:
        return json.load(f)['model']


def is_torchscript(path):
    # torch.jit.save writes a zip with a code/ directory; torch.save of a state dict has none.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any('/code/' in n or n.startswith('code/') for n in z.namelist())


def load_eager(archive, model_file, weights):
    """TorchServe's rule (ts/torch_handler/base_handler.py): model_file defines exactly one nn.Module."""
    spec = importlib.util.spec_from_file_location('migrated_model', os.path.join(archive, model_file))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, archive)
    spec.loader.exec_module(module)
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, torch.nn.Module) and c.__module__ == module.__name__]
    if len(classes) != 1:
        raise MigrationError(f'{model_file} must define exactly one torch.nn.Module class, found {len(classes)}')
    model = classes[0]()
    model.load_state_dict(torch.load(os.path.join(archive, weights), map_location='cpu'))
    return model


class SegmenterOut(torch.nn.Module):
    """torchvision segmentation models return {'out': ...}; the ONNX graph gets one output named out."""
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        y = self.model(x)
        return y['out'] if isinstance(y, dict) else y


class DetectorOne(torch.nn.Module):
    """torchvision detection models take a list of [3, H, W] images; the graph takes one."""
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        y = self.model([image])[0]
        return y['boxes'], y['labels'], y['scores']


def export(model, handler, out):
    path = os.path.join(out, 'model.onnx')
    if handler == 'image_classifier':
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), path, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
    elif handler == 'image_segmenter':
        torch.onnx.export(SegmenterOut(model), torch.zeros(1, 3, 224, 224), path, input_names=['input'], output_names=['out'],
                          dynamic_axes={'input': {0: 'batch', 2: 'height', 3: 'width'}, 'out': {0: 'batch', 2: 'height', 3: 'width'}},
                          opset_version=13)
    else:
        torch.onnx.export(DetectorOne(model), torch.zeros(3, 320, 320), path, input_names=['images'],
                          output_names=['boxes', 'labels', 'scores'], dynamic_axes={'images': {1: 'height', 2: 'width'}},
                          opset_version=13)
    return path


def load_mapping(archive):
    path = os.path.join(archive, 'index_to_name.json')
    if not os.path.exists(path):
        return None
    with open(path) as f:
        mapping = json.load(f)
    if 'object_type_names' in mapping:
        mapping = {str(i): v for i, v in enumerate(mapping['object_type_names'])}
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in mapping.items()}


def torchserve_answer(model, handler, image, mapping, topk):
    """What TorchServe's handler answers for one image, computed with the original model."""
    # Imported here: a Hugging Face archive needs neither torchvision nor PIL.
    from torchvision import transforms
    imagenet = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    as_is = transforms.Compose([transforms.ToTensor()])
    with torch.no_grad():
        if handler == 'image_classifier':
            probs = F.softmax(model(imagenet(image).unsqueeze(0)), dim=1)[0]
            p, c = torch.topk(probs, min(topk, probs.shape[0]))
            return [[mapping[str(i)] if mapping else str(i), v] for i, v in zip(c.tolist(), p.tolist())]
        if handler == 'image_segmenter':
            y = SegmenterOut(model)(imagenet(image).unsqueeze(0))
            values, classes = F.softmax(y, dim=1).max(dim=1)
            return {'classes': classes[0].flatten().tolist(), 'probs': values[0].flatten().tolist()}
        boxes, labels, scores = DetectorOne(model)(as_is(image))
        keep = scores >= 0.5
        return [{'label': mapping[str(l)] if mapping else str(l), 'box': b, 'score': s}
                for b, l, s in zip(boxes[keep].tolist(), labels[keep].tolist(), scores[keep].tolist())]


def samples(archive, extra):
    found = [os.path.join(archive, n) for n in sorted(os.listdir(archive)) if n.lower().endswith(IMAGE_EXTENSIONS)]
    return list(extra) + found


def main():
    parser = argparse.ArgumentParser(prog='ortserve-migrate (PyTorch half)')
    parser.add_argument('archive')
    parser.add_argument('out')
    parser.add_argument('--sample', action='append', default=[])
    parser.add_argument('--topk', type=int, default=5)
    args = parser.parse_args()
    m = read_manifest(args.archive)
    handler = m.get('handler', '')
    os.makedirs(args.out, exist_ok=True)
    if hf_text.is_hf_archive(args.archive):
        check = hf_text.migrate(args.archive, m, args.out, args.sample)
        write_check(args.out, m, check)
        return
    if handler not in VISION_HANDLERS:
        raise MigrationError(f'the archive\'s handler is "{handler}": ortserve-migrate converts archives using TorchServe\'s '
                             f'{", ".join(VISION_HANDLERS)} (a custom handler must be rewritten in TypeScript)')
    weights = m.get('serializedFile')
    if not weights:
        raise MigrationError('the archive has no serializedFile')
    if is_torchscript(os.path.join(args.archive, weights)):
        model = torch.jit.load(os.path.join(args.archive, weights), map_location='cpu')
        kind = 'torchscript'
    elif m.get('modelFile'):
        model = load_eager(args.archive, m['modelFile'], weights)
        kind = 'eager'
    else:
        raise MigrationError(f'{weights} is not TorchScript and the archive has no model file (--model-file) to load it into')
    model.eval()
    export(model, handler, args.out)
    mapping = load_mapping(args.archive)
    if mapping is not None:
        shutil.copy(os.path.join(args.archive, 'index_to_name.json'), os.path.join(args.out, 'index_to_name.json'))
    from PIL import Image
    images = samples(args.archive, args.sample)
    if not images:
        # No sample in the archive: a synthetic picture, so that the export is still checked.
        synthetic = os.path.join(args.out, 'synthetic-sample.png')
        Image.radial_gradient('L').convert('RGB').resize((320, 240)).save(synthetic)
        images = [synthetic]
    check = [{'image': path, 'answer': torchserve_answer(model, handler, Image.open(path).convert('RGB'), mapping, args.topk)}
             for path in images]
    write_check(args.out, m, {'handler': handler, 'model': kind, 'files': ['index_to_name.json'] if mapping is not None else [],
                              'samples': check})


def write_check(out, manifest, check):
    with open(os.path.join(out, 'check.json'), 'w') as f:
        json.dump({**check, 'modelName': manifest.get('modelName'), 'modelVersion': manifest.get('modelVersion', '1.0')}, f)


if __name__ == '__main__':
    try:
        main()
    except (MigrationError, hf_text.HfMigrationError) as e:
        print(f'ortserve-migrate: {e}', file=sys.stderr)
        sys.exit(1)
