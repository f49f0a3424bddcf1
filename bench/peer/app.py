"""The benchmark's peer (issue 16): what a user would write instead of a model server.

FastAPI + uvicorn + onnxruntime + Hugging Face `tokenizers`, one `def` endpoint per request, no
batching: FastAPI runs each call in its thread pool, so several `session.run` calls share the one
session (and its one copy of the weights). Tokenization is the archive's tokenizer.json, truncated
at the bench's max length; the answer is the label name as text, as ortserve's text_classifier
(and TorchServe's Hugging Face example handler) answers a plain-text body.

Settings come from the environment (bench/lib/peer-process.ts sets them):
  PEER_MODEL_DIR   the model directory (model.onnx, tokenizer.json, config.json)
  PEER_MAX_LENGTH  truncation length, special tokens included (default 210)
  PEER_THREADS     intra-op threads of the session (default 2)
"""
import json
import os

import numpy as np
import onnxruntime as ort
from fastapi import Body, FastAPI
from fastapi.responses import Response
from tokenizers import Tokenizer

MODEL_DIR = os.environ["PEER_MODEL_DIR"]
MAX_LENGTH = int(os.environ.get("PEER_MAX_LENGTH", "210"))
THREADS = int(os.environ.get("PEER_THREADS", "2"))

tokenizer = Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
tokenizer.enable_truncation(MAX_LENGTH)
tokenizer.no_padding()

options = ort.SessionOptions()
options.intra_op_num_threads = THREADS
session = ort.InferenceSession(os.path.join(MODEL_DIR, "model.onnx"), options, providers=["CPUExecutionProvider"])
input_names = {i.name for i in session.get_inputs()}
with open(os.path.join(MODEL_DIR, "config.json"), encoding="utf-8") as f:
    id2label = json.load(f)["id2label"]

app = FastAPI()


@app.get("/ping")
def ping() -> dict:
    return {"status": "Healthy"}


@app.api_route("/predictions/{model}", methods=["PUT", "POST"])
def predict(model: str, body: bytes = Body(...)) -> Response:
    encoding = tokenizer.encode(body.decode("utf-8"))
    ids = np.array([encoding.ids], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if "token_type_ids" in input_names:
        feeds["token_type_ids"] = np.zeros_like(ids)
    (logits,) = session.run(None, feeds)[:1]
    return Response(content=id2label[str(int(np.argmax(logits[0])))], media_type="text/plain")
