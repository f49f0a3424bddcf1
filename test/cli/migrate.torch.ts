/**
 * ortserve-migrate on TorchServe archives of an image classifier, as eager model (model.py + state
 * dict) and as TorchScript, and of an image segmenter (eager): PyTorch writes the models, ortserve-archiver packs them as
 * torch-model-archiver would, ortserve-migrate converts them, and a real server answers the photographs
 * as the original model does in TorchServe's pipeline (PIL + torchvision transforms + PyTorch, computed
 * here by Python). Needs Python 3 with torch, torchvision and PIL, so it runs in `npm run test:python`
 * (tools/vision/test-deps.sh installs them), not in the plain `npm test`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import AdmZip from 'adm-zip';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';
import { image, predict, VISION_IMAGES } from '../support/vision.js';

const run = promisify(execFile);
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string): string => path.join(DIST, 'src', 'cli', `${name}.js`);
const PYTHON = process.env['ORTSERVE_PYTHON'] ?? 'python3';
const PHOTOS = ['kitten.jpg', 'coffee.jpg', 'scene-blue.png', 'scene-green.png'];

// A colour classifier with set (not random) weights: each class reads the mean of one colour channel.
const MODEL_PY = `import torch
from torch import nn


class ColourNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 5, stride=4)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))
`;

// A segmenter with set weights, returning {"out": ...} as torchvision's do: a pixel's class is its strongest
// colour channel (a 1×1 convolution over the normalised image).
const SEG_PY = `import torch
from torch import nn


class ColourSegNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return {'out': self.conv(x)}
`;

const MAKE_SEG = `
import json, sys, torch
sys.path.insert(0, '.')
from seg_model import ColourSegNet
from PIL import Image
from torchvision import transforms
m = ColourSegNet()
with torch.no_grad():
    m.conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1) * 4)
    m.conv.bias.zero_()
m.eval()
torch.save(m.state_dict(), 'seg.pth')
t = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
with torch.no_grad():
    y = torch.softmax(m(t(Image.open(sys.argv[1]).convert('RGB')).unsqueeze(0))['out'], dim=1)[0]
p, c = y.max(dim=0)
print(json.dumps({'classes': c.flatten().tolist(), 'probs': p.flatten().tolist()}))
`;

const MAKE = `
import json, sys, torch
sys.path.insert(0, '.')
from model import ColourNet
from PIL import Image
from torchvision import transforms
m = ColourNet()
with torch.no_grad():
    m.conv.weight.zero_(); m.conv.bias.zero_(); m.fc.weight.zero_(); m.fc.bias.zero_()
    for c in range(3):
        m.conv.weight[c, c] = 1 / 25
        m.conv.weight[c + 3, c] = -1 / 25
        m.fc.weight[c, c] = 3
        m.fc.weight[c, c + 3] = -3
m.eval()
torch.save(m.state_dict(), 'model.pth')
torch.jit.script(m).save('model.pt')
t = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
out = {}
with torch.no_grad():
    for name in sys.argv[1:]:
        p = torch.softmax(m(t(Image.open(name).convert('RGB')).unsqueeze(0)), dim=1)[0]
        out[name.split('/')[-1]] = p.tolist()
print(json.dumps(out))
`;

describe('ortserve-migrate', () => {
  const dir = makeTempDir('ortserve-migrate-test-');
  const cli = (name: string, args: string[]) => run(process.execPath, [bin(name), ...args], { cwd: dir, timeout: 300_000 });
  let expected: Record<string, number[]>;
  let s: TestServer;

  before(async () => {
    writeFileSync(path.join(dir, 'model.py'), MODEL_PY);
    writeFileSync(path.join(dir, 'index_to_name.json'), JSON.stringify({ 0: 'red', 1: 'green', 2: 'blue' }));
    for (const photo of PHOTOS) copyFileSync(path.join(VISION_IMAGES, photo), path.join(dir, photo));
    const made = await run(PYTHON, ['-c', MAKE, ...PHOTOS.map((p) => path.join(dir, p))], { cwd: dir, timeout: 120_000 });
    expected = JSON.parse(made.stdout) as Record<string, number[]>;
    // TorchServe archives, as torch-model-archiver lays them out (the archiver warns: .py handler-less, .pth).
    await cli('archiver', ['--model-name', 'colours_eager', '--version', '2.0', '--model-file', 'model.py', '--serialized-file', 'model.pth',
      '--handler', 'image_classifier', '--extra-files', 'index_to_name.json,kitten.jpg', '--export-path', 'old']);
    await cli('archiver', ['--model-name', 'colours_ts', '--version', '1.0', '--serialized-file', 'model.pt',
      '--handler', 'image_classifier', '--extra-files', 'index_to_name.json', '--export-path', 'old']);
    s = await startTestServer();
  });
  after(() => s.stop());

  for (const [mar, kind] of [['colours_eager', 'eager'], ['colours_ts', 'torchscript']] as const) {
    it(`converts the ${kind} archive ${mar}.mar and ortserve answers as the original model`, async () => {
      const r = await cli('migrate', [`old/${mar}.mar`, '--export-path', 'new', '--sample', 'coffee.jpg']);
      assert.match(r.stdout, /^same: coffee\.jpg: largest difference /m);
      if (kind === 'eager') assert.match(r.stdout, /^same: kitten\.jpg: /m, 'the sample image of the archive is checked');
      assert.match(r.stdout, new RegExp(`Wrote .*new/${mar}\\.mar \\(image_classifier, from the PyTorch model \\(${kind}\\); `));
      const manifest = JSON.parse(new AdmZip(path.join(dir, 'new', `${mar}.mar`)).readAsText('MAR-INF/MANIFEST.json')) as { model: Record<string, string> };
      assert.equal(manifest.model.handler, 'image_classifier');
      assert.equal(manifest.model.serializedFile, 'model.onnx');
      assert.equal(manifest.model.modelVersion, kind === 'eager' ? '2.0' : '1.0');

      copyFileSync(path.join(dir, 'new', `${mar}.mar`), path.join(s.modelStore, `${mar}.mar`));
      await s.register(`url=${mar}.mar&initial_workers=1&synchronous=true`);
      const labels = ['red', 'green', 'blue'];
      const tops = new Set<string>();
      for (const photo of PHOTOS) {
        const { status, body } = await predict(s, mar, image(photo));
        assert.equal(status, 200);
        const ranked = expected[photo]!.map((p, i) => [labels[i]!, p] as const).sort((a, b) => b[1] - a[1]);
        assert.deepEqual(Object.keys(body), ranked.map(([l]) => l), photo);
        for (const [label, p] of ranked) assert.ok(Math.abs(body[label] - p) < 1e-5, `${photo} ${label}: ${body[label]} vs ${p}`);
        tops.add(ranked[0]![0]);
      }
      assert.ok(tops.size >= 2, 'the photographs get different classes');
    });
  }

  it('converts an eager segmenter archive, and ortserve answers each pixel as the original model', async () => {
    writeFileSync(path.join(dir, 'seg_model.py'), SEG_PY);
    const made = await run(PYTHON, ['-c', MAKE_SEG, path.join(dir, 'kitten.jpg')], { cwd: dir, timeout: 120_000, maxBuffer: 64 << 20 });
    const want = JSON.parse(made.stdout) as { classes: number[]; probs: number[] };
    assert.ok(new Set(want.classes).size >= 2, 'the photograph has pixels of different classes');
    await cli('archiver', ['--model-name', 'seg', '--version', '1.0', '--model-file', 'seg_model.py', '--serialized-file', 'seg.pth',
      '--handler', 'image_segmenter', '--extra-files', 'coffee.jpg', '--export-path', 'old']);
    const r = await cli('migrate', ['old/seg.mar', '--export-path', 'new']);
    assert.match(r.stdout, /^same: coffee\.jpg: largest difference /m);
    assert.match(r.stdout, /Wrote .*new\/seg\.mar \(image_segmenter, from the PyTorch model \(eager\); /);
    copyFileSync(path.join(dir, 'new', 'seg.mar'), path.join(s.modelStore, 'seg.mar'));
    await s.register('url=seg.mar&initial_workers=1&synchronous=true');
    const { status, body } = await predict(s, 'seg', image('kitten.jpg'));
    assert.equal(status, 200);
    const pixels = (body as Array<Array<[number, number]>>).flat();
    assert.equal(pixels.length, want.classes.length);
    let differing = 0;
    let difference = 0;
    pixels.forEach(([c, p], i) => {
      if (c !== want.classes[i]) differing++;
      else difference = Math.max(difference, Math.abs(p - want.probs[i]!));
    });
    // Pixels whose two best classes tie within float error may flip; the rest must agree.
    assert.ok(differing <= pixels.length / 1000, `${differing} of ${pixels.length} pixels have another class`);
    assert.ok(difference < 1e-4, `largest probability difference ${difference}`);
  });

  it('refuses an archive with a custom Python handler, saying why, and writes nothing', async () => {
    writeFileSync(path.join(dir, 'my_handler.py'), 'def handle(data, context):\n    return data\n');
    await cli('archiver', ['--model-name', 'custom', '--version', '1.0', '--serialized-file', 'model.pt', '--handler', 'my_handler.py', '--export-path', 'old']);
    const r = await cli('migrate', ['old/custom.mar', '--export-path', 'new']).then(
      () => assert.fail('expected exit 1'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the archive's handler is "my_handler\.py": ortserve-migrate converts archives using TorchServe's image_classifier, image_segmenter, object_detector/);
    assert.ok(!existsSync(path.join(dir, 'new', 'custom.mar')));
  });
});
