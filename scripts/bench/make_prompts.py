"""Builds the held-out 8 kHz speech set: every Asterisk English prompt.

Asterisk's core sounds (Debian package asterisk-core-sounds-en-wav, CC-BY-SA
3.0, Allison Smith's recorded voice) come with their transcripts in
core-sounds-en.txt. Every prompt with a transcript is laid end to end in
name order, 1.5 s of silence after each, as one 8 kHz mu-law mono recording
(the way contact-center recorders store a channel), with the reference text
beside it and a 16 kHz copy for whisper.cpp's CLI. Left out: the 13 prompts
of the bench call (the engine's settings were chosen on them), tones and
other bracketed notes, and silence files. About 25 minutes of speech.

usage: make_prompts.py SOUNDS_DIR TRANSCRIPTS_TXT_GZ BENCH_CALL_TRANSCRIPTS OUT_DIR
"""
import gzip
import subprocess
import sys
import wave
from array import array
from pathlib import Path

from make_call import read_prompt

PAUSE_S = 1.5


def main() -> None:
    sounds, index, bench_call, out = (Path(a) for a in sys.argv[1:5])
    out.mkdir(parents=True, exist_ok=True)
    tuned_on = {line.split("\t", 1)[0] for line in bench_call.read_text().splitlines() if line}
    prompts = []
    for line in gzip.open(index, "rt", encoding="utf-8").read().splitlines():
        if line.startswith(";") or ": " not in line:
            continue
        name, text = line.split(": ", 1)
        name, text = name.strip(), text.strip()
        wav = sounds / f"{name}.wav"
        if (
            name in tuned_on
            or name.startswith("silence/")
            or text.startswith("[")
            or not text
            or not wav.is_file()
        ):
            continue
        prompts.append((name, text, wav))
    prompts.sort()
    samples, reference = array("h"), []
    pause = array("h", bytes(2 * int(PAUSE_S * 8000)))
    for _, text, wav in prompts:
        samples.extend(read_prompt(wav))
        samples.extend(pause)
        reference.append(text)
    pcm = out / "prompts-pcm.wav"
    with wave.open(str(pcm), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.tobytes())
    # No dither (-D): the same recording on every machine.
    subprocess.run(["sox", "-D", str(pcm), "-e", "u-law", str(out / "prompts.wav")], check=True)
    subprocess.run(["sox", "-D", str(pcm), "-r", "16000", str(out / "prompts-16k.wav")], check=True)
    pcm.unlink()
    (out / "prompts.reference.txt").write_text("\n".join(reference) + "\n")
    minutes = len(samples) / 8000 / 60
    print(f"{len(prompts)} prompts, {minutes:.1f} min", file=sys.stderr)


if __name__ == "__main__":
    main()
