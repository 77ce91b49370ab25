"""Runs faster-whisper the way the benchmark compares it: int8, greedy
(beam 1), English unless told otherwise, on each given 16 kHz-or-any file
(one per channel).

Prints JSON: load and transcription seconds, and segments with their channel.
usage: faster_whisper_run.py [--language CODE] MODEL_DIR THREADS VAD(0|1) FILE...
"""
import json
import os
import sys
import time

# The model folder is complete; never reach for the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
t0 = time.perf_counter()
from faster_whisper import WhisperModel  # noqa: E402  (import time counts as load)

args = sys.argv[1:]
language = "en"
if args[:1] == ["--language"]:
    language, args = args[1], args[2:]
model_dir, threads, vad, files = args[0], int(args[1]), args[2] == "1", args[3:]
model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
t1 = time.perf_counter()
segments = []
for channel, path in enumerate(files):
    result, _info = model.transcribe(path, language=language, beam_size=1, vad_filter=vad)
    for s in result:
        segments.append({"channel": channel, "start": s.start, "end": s.end, "text": s.text.strip()})
t2 = time.perf_counter()
segments.sort(key=lambda s: s["start"])
print(json.dumps({"load_s": t1 - t0, "transcribe_s": t2 - t1, "segments": segments}))
