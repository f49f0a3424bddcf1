#!/usr/bin/env python3
"""
Builds the vision fixtures of test/fixtures/vision (issue 17): three small TRAINED models in the
interfaces TorchServe's built-in vision handlers expect, exported with torch.onnx.export, synthetic test
images, and the reference answers of a PyTorch/torchvision pipeline (PIL decode + TorchServe's own
transforms + the eager PyTorch model) for every test image.

  classifier.onnx  input [N,3,224,224] -> logits [N,4]     (image_classifier: red/green/blue/gray scenes)
  segmenter.onnx   input [N,3,H,W]     -> out [N,3,H,W]    (image_segmenter: background/red/blue pixels)
  detector.onnx    input [3,H,W]       -> boxes, labels, scores  (object_detector: squares and discs)

The models are trained on synthetic images drawn here (no download), with fixed seeds, so that different
inputs get different answers. Run with Debian's python3-torch/python3-torchvision/python3-pil/python3-numpy:
  python3 tools/vision/make_fixtures.py [out_dir]
"""
import json
import math
import os
import sys
import zlib
import base64

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torchvision import transforms

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'vision')
IMAGES = os.path.join(OUT, 'images')
torch.manual_seed(17)
rng = np.random.default_rng(17)

# TorchServe's transforms (ts/torch_handler/image_classifier.py, image_segmenter.py, object_detector.py).
CLASSIFIER_TRANSFORM = transforms.Compose([
    transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
SEGMENTER_TRANSFORM = CLASSIFIER_TRANSFORM
DETECTOR_TRANSFORM = transforms.Compose([transforms.ToTensor()])

CLASS_NAMES = ['red', 'green', 'blue', 'gray']
CLASS_RGB = {'red': (200, 40, 40), 'green': (40, 170, 60), 'blue': (40, 60, 200), 'gray': (128, 128, 128)}


def noisy_background(w, h):
    base = rng.integers(0, 256, size=3)
    noise = rng.normal(0, 25, size=(h, w, 3))
    return Image.fromarray(np.clip(base * 0.4 + 60 + noise, 0, 255).astype(np.uint8), 'RGB')


def jitter(rgb, amount=35):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def scene(label, w, h):
    """A picture dominated by shapes of one colour family."""
    img = noisy_background(w, h)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        s = int(rng.integers(w // 5, w // 2))
        box = [x0, y0, x0 + s, y0 + s]
        colour = jitter(CLASS_RGB[label])
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return img


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU())
        self.fc = nn.Linear(32, len(CLASS_NAMES))

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


class Segmenter(nn.Module):
    """torchvision's segmentation models return {'out': [N, K, H, W]}; so does this one."""
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 3, 1))

    def forward(self, x):
        return {'out': self.net(x)}


STRIDE = 4
MAX_DETECTIONS = 20


class Detector(nn.Module):
    """
    A CenterNet-style detector with torchvision's detection interface: one [3, H, W] image in, boxes
    [N, 4] (x1, y1, x2, y2 in pixels), labels [N] (0 is the background) and scores [N] out.
    """
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=4, dilation=4), nn.ReLU())
        self.heat = nn.Conv2d(32, 2, 1)
        self.size = nn.Conv2d(32, 2, 1)

    def maps(self, x):
        f = self.backbone(x)
        return self.heat(f), self.size(f)

    def forward(self, image):
        heat, size = self.maps(image.unsqueeze(0))
        heat = torch.sigmoid(heat)
        peak = (F.max_pool2d(heat, 3, stride=1, padding=1) == heat).float()
        best, cls = (heat * peak).max(dim=1)
        w = heat.shape[3]
        # Zero scores appended so that small images (fewer cells than MAX_DETECTIONS) still have k values.
        flat = best.flatten()
        scores, idx = F.pad(flat, (0, MAX_DETECTIONS)).topk(MAX_DETECTIONS)
        idx = torch.minimum(idx, torch.full_like(idx, 0) + flat.shape[0] - 1)
        cy = torch.div(idx, w, rounding_mode='floor').float()
        cx = (idx - torch.div(idx, w, rounding_mode='floor') * w).float()
        wh = torch.exp(size.flatten(2)[0][:, idx]) * STRIDE
        x = (cx + 0.5) * STRIDE
        y = (cy + 0.5) * STRIDE
        boxes = torch.stack([x - wh[0] / 2, y - wh[1] / 2, x + wh[0] / 2, y + wh[1] / 2], dim=1)
        return boxes, cls.flatten()[idx] + 1, scores


def segmentation_sample(size):
    img = noisy_background(size, size)
    mask = Image.new('L', (size, size), 0)
    draw, mdraw = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    for _ in range(int(rng.integers(1, 4))):
        k = int(rng.integers(1, 3))
        x0, y0 = int(rng.integers(0, size - 10)), int(rng.integers(0, size - 10))
        s = int(rng.integers(size // 6, size // 2))
        box = [x0, y0, x0 + s, y0 + s]
        colour = jitter(CLASS_RGB['red' if k == 1 else 'blue'], 25)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(box, fill=colour)
        (mdraw.ellipse if shape == draw.ellipse else mdraw.rectangle)(box, fill=k)
    return img, np.array(mask, dtype=np.int64)


def detection_sample(size):
    """Red squares (label 1) and blue discs (label 2) on noise; returns (image, [(label, box)])."""
    img = noisy_background(size, size)
    draw = ImageDraw.Draw(img)
    objects = []
    for _ in range(int(rng.integers(1, 4))):
        label = int(rng.integers(1, 3))
        s = int(rng.integers(16, 40))
        x0, y0 = int(rng.integers(0, size - s)), int(rng.integers(0, size - s))
        if any(not (x0 + s < b[0] - 4 or b[2] + 4 < x0 or y0 + s < b[1] - 4 or b[3] + 4 < y0) for _, b in objects):
            continue
        box = (x0, y0, x0 + s, y0 + s)
        if label == 1:
            draw.rectangle(box, fill=jitter(CLASS_RGB['red'], 25))
        else:
            draw.ellipse(box, fill=jitter(CLASS_RGB['blue'], 25))
        objects.append((label, box))
    return img, objects


def train(model, batches, loss_fn, steps, lr=3e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(steps):
        x, y = batches()
        loss = loss_fn(model, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f'  step {step}: loss {loss.item():.4f}', flush=True)
    model.eval()
    return model


def train_classifier():
    print('classifier', flush=True)
    def batches():
        labels = rng.integers(0, len(CLASS_NAMES), size=16)
        xs = [CLASSIFIER_TRANSFORM(scene(CLASS_NAMES[i], int(rng.integers(200, 360)), int(rng.integers(200, 360)))) for i in labels]
        return torch.stack(xs), torch.tensor(labels)
    # Label smoothing keeps the probabilities away from 0 and 1, so that the parity tolerance is tested.
    loss = lambda m, x, y: F.cross_entropy(m(x), y, label_smoothing=0.2)
    return train(Classifier(), batches, loss, 300)


def train_segmenter():
    print('segmenter', flush=True)
    norm = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    def batches():
        pairs = [segmentation_sample(64) for _ in range(16)]
        return torch.stack([norm(p[0]) for p in pairs]), torch.stack([torch.from_numpy(p[1]) for p in pairs])
    loss = lambda m, x, y: F.cross_entropy(m(x)['out'], y)
    return train(Segmenter(), batches, loss, 400)


def train_detector():
    print('detector', flush=True)
    def batches():
        samples = [detection_sample(96) for _ in range(16)]
        h = 96 // STRIDE
        heat = torch.zeros(16, 2, h, h)
        size = torch.zeros(16, 2, h, h)
        mask = torch.zeros(16, 1, h, h)
        for i, (_, objects) in enumerate(samples):
            for label, (x0, y0, x1, y1) in objects:
                cx, cy = int((x0 + x1) / 2 / STRIDE), int((y0 + y1) / 2 / STRIDE)
                heat[i, label - 1, cy, cx] = 1
                size[i, :, cy, cx] = torch.log(torch.tensor([(x1 - x0) / STRIDE, (y1 - y0) / STRIDE]))
                mask[i, 0, cy, cx] = 1
        return torch.stack([DETECTOR_TRANSFORM(s[0]) for s in samples]), (heat, size, mask)
    def loss(m, x, y):
        heat, size, mask = y
        h, s = m.maps(x)
        focal = F.binary_cross_entropy_with_logits(h, heat, pos_weight=torch.tensor(30.0))
        return focal + (F.l1_loss(s, size, reduction='none') * mask).sum() / mask.sum().clamp(min=1)
    return train(Detector(), batches, loss, 2500)


def export(model, example, path, inputs, outputs, dynamic):
    torch.onnx.export(model, example, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic, opset_version=13)
    print(f'  wrote {path} ({os.path.getsize(path)} bytes)')


def synthetic_images():
    """Images the parity tests send besides the committed photographs."""
    made = {}
    for i, name in enumerate(CLASS_NAMES):
        img = scene(name, 320 + 16 * i, 240 + 24 * i)
        img.save(os.path.join(IMAGES, f'scene-{name}.png'))
        made[f'scene-{name}.png'] = img
    img = scene('blue', 300, 400)
    img.save(os.path.join(IMAGES, 'scene-blue-portrait.jpg'), quality=90)
    rgba = scene('green', 257, 255).convert('RGBA')
    rgba.putalpha(200)
    rgba.save(os.path.join(IMAGES, 'scene-green-rgba.png'))
    small = scene('red', 120, 90)
    small.save(os.path.join(IMAGES, 'scene-red-small.png'))
    seg = noisy_background(240, 240)
    draw = ImageDraw.Draw(seg)
    draw.rectangle([30, 40, 110, 120], fill=CLASS_RGB['red'])
    draw.ellipse([120, 110, 210, 200], fill=CLASS_RGB['blue'])
    seg.save(os.path.join(IMAGES, 'shapes-segments.png'))
    det = noisy_background(160, 160)
    draw = ImageDraw.Draw(det)
    objects = [(1, (20, 30, 52, 62)), (2, (100, 40, 128, 68)), (2, (60, 110, 96, 146))]
    for label, box in objects:
        (draw.rectangle if label == 1 else draw.ellipse)(box, fill=CLASS_RGB['red' if label == 1 else 'blue'])
    det.save(os.path.join(IMAGES, 'shapes-detect.png'))
    with open(os.path.join(IMAGES, 'shapes-detect.objects.json'), 'w') as f:
        json.dump([{'label': l, 'box': list(b)} for l, b in objects], f)
    det.save(os.path.join(IMAGES, 'shapes-detect.jpg'), quality=95)


def pil_rgb(path):
    # ortserve converts every decoded image to RGB (TorchServe's transforms assume 3 channels).
    return Image.open(path).convert('RGB')


def pack(array):
    return base64.b64encode(zlib.compress(array.tobytes(), 9)).decode('ascii')


def references(classifier, segmenter, detector):
    names = sorted(n for n in os.listdir(IMAGES) if n.endswith(('.png', '.jpg')))
    out = {'classifier': {}, 'segmenter': {}, 'detector': {}}
    with torch.no_grad():
        for name in names:
            img = pil_rgb(os.path.join(IMAGES, name))
            probs = F.softmax(classifier(CLASSIFIER_TRANSFORM(img).unsqueeze(0)), dim=1)[0]
            out['classifier'][name] = [float(p) for p in probs]
            det = detector(DETECTOR_TRANSFORM(img))
            out['detector'][name] = [
                {'box': [float(v) for v in b], 'label': int(l), 'score': float(s)}
                for b, l, s in zip(*det) if float(s) >= 0.05]
        for name in ['kitten.jpg', 'shapes-segments.png']:
            img = pil_rgb(os.path.join(IMAGES, name))
            prob = F.softmax(segmenter(SEGMENTER_TRANSFORM(img).unsqueeze(0))['out'], dim=1)[0]
            values, classes = prob.max(dim=0)
            out['segmenter'][name] = {
                'shape': list(classes.shape),
                'classes_u8_zlib_b64': pack(classes.numpy().astype(np.uint8)),
                'probs_f32_zlib_b64': pack(values.numpy().astype(np.float32))}
    return out


def main():
    os.makedirs(IMAGES, exist_ok=True)
    classifier = train_classifier()
    segmenter = train_segmenter()
    detector = train_detector()
    export(classifier, torch.zeros(1, 3, 224, 224), os.path.join(OUT, 'classifier.onnx'), ['input'], ['logits'], {'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    export(segmenter, torch.zeros(1, 3, 224, 224), os.path.join(OUT, 'segmenter.onnx'), ['input'], ['out'], {'input': {0: 'batch', 2: 'height', 3: 'width'}, 'out': {0: 'batch', 2: 'height', 3: 'width'}})
    export(detector, torch.zeros(3, 96, 96), os.path.join(OUT, 'detector.onnx'), ['images'], ['boxes', 'labels', 'scores'], {'images': {1: 'height', 2: 'width'}})
    with open(os.path.join(OUT, 'classifier.index_to_name.json'), 'w') as f:
        json.dump({str(i): n for i, n in enumerate(CLASS_NAMES)}, f, indent=1)
    with open(os.path.join(OUT, 'detector.index_to_name.json'), 'w') as f:
        json.dump({'0': '__background__', '1': 'square', '2': 'disc'}, f, indent=1)
    synthetic_images()
    refs = references(classifier, segmenter, detector)
    refs['pipeline'] = f'PIL {Image.__version__} + torchvision transforms + torch {torch.__version__} eager models'
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(refs, f, indent=1)
    print('reference.json written')


if __name__ == '__main__':
    main()
