/**
 * For the client commands' tests: a real ortserve on loopback with tiny text_classifier models
 * registered, and the server's own answer for a text (what the commands' output is checked against).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeMar } from '../support/archives.js';
import { text } from '../support/http.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';
import { writeTinyTextModel } from '../support/tiny-model.js';

export const LABELS = ['food', 'music', 'sports', 'theatre'];

export interface TextModelSpec {
  name: string;
  version?: string;
  /** Weight seed: different seeds answer differently. */
  seed: number;
  workers?: number;
}

export interface TextServer {
  server: TestServer;
  /** The inference key. */
  token: string;
  /** The label the server gives `text` (model may be name/version). */
  labelOf(model: string, text: string): Promise<string>;
}

export async function startTextServer(models: readonly TextModelSpec[]): Promise<TextServer> {
  const server = await startTestServer();
  for (const m of models) {
    const dir = makeTempDir('ortserve-tiny-');
    await writeTinyTextModel(dir, { labels: LABELS, seed: m.seed });
    const files = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f))]));
    const fileName = `${m.name}-${m.version ?? '1.0'}.mar`;
    writeMar(server.modelStore, { name: m.name, version: m.version, handler: 'text_classifier', serializedFile: 'model.onnx', files, fileName });
    await server.register(`url=${fileName}&initial_workers=${m.workers ?? 1}&batch_size=8&max_batch_delay=5`);
  }
  const token = (server.auth('inference').Authorization ?? '').replace(/^Bearer /, '');
  return {
    server,
    token,
    async labelOf(model, t) {
      const r = await server.predictJson(model, { text: t, top_k: 1 });
      if (r.status !== 200) throw new Error(`${model}: ${r.status} ${text(r.body)}`);
      return (JSON.parse(text(r.body)) as Array<{ label: string }>)[0]!.label;
    },
  };
}

/** Short event listings, in two languages, with their expected taxonomy label. */
export const LISTINGS: ReadonlyArray<{ title: string; description: string; taxonomy: string; lang: string }> = [
  { title: 'Jazz quartet live', description: 'Standards and originals, doors at 8pm', taxonomy: 'music', lang: 'en' },
  { title: 'Concierto de rock', description: 'Tres bandas locales, entrada 10 €', taxonomy: 'music', lang: 'es' },
  { title: 'Orchestra: Mahler 5', description: 'The city symphony, conductor in residence', taxonomy: 'music', lang: 'en' },
  { title: 'Festival de flamenco', description: 'Cante, toque y baile en la plaza', taxonomy: 'music', lang: 'es' },
  { title: 'Town FC vs Rovers', description: 'League match, kick-off 3pm, adults £12', taxonomy: 'sports', lang: 'en' },
  { title: 'Maratón popular', description: 'Inscripciones abiertas, salida a las 9:00', taxonomy: 'sports', lang: 'es' },
  { title: 'Basketball final', description: 'Tickets at the arena box office', taxonomy: 'sports', lang: 'en' },
  { title: 'Torneo de pádel', description: 'Parejas mixtas, premios para los ganadores', taxonomy: 'sports', lang: 'es' },
  { title: 'Hamlet', description: 'A new staging, 2h40 with one interval', taxonomy: 'theatre', lang: 'en' },
  { title: 'Teatro infantil', description: 'Caperucita Roja, entrada libre', taxonomy: 'theatre', lang: 'es' },
  { title: 'Improv night', description: 'Comedy made up on the spot, bar open', taxonomy: 'theatre', lang: 'en' },
  { title: 'La casa de Bernarda Alba', description: 'Compañía nacional, funciones de jueves a domingo', taxonomy: 'theatre', lang: 'es' },
  { title: 'Wine tasting', description: 'Six wines and tapas, 25 euros per person', taxonomy: 'food', lang: 'en' },
  { title: 'Ruta de la tapa', description: 'Veinte bares, una tapa y una caña por 3 €', taxonomy: 'food', lang: 'es' },
  { title: 'Street food market', description: 'Forty stalls, vegan options, live DJ', taxonomy: 'food', lang: 'en' },
  { title: 'Jornadas gastronómicas', description: 'Menú de degustación con productos de la sierra', taxonomy: 'food', lang: 'es' },
];
