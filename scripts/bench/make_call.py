"""Builds a call-like benchmark recording from real 8 kHz human speech.

Asterisk's prompts (a professional voice, with published transcripts) are laid
out as alternating turns on the agent's (left) and customer's (right) channel,
with pauses of 1.5 to 4 s, then written as 8 kHz mu-law stereo WAV, the way
contact-center recorders store calls. Also writes each channel at 16 kHz
(for whisper.cpp's CLI, which reads 16 kHz WAV only) and the reference text.

usage: make_call.py ASTERISK_DIR OUT_DIR
"""
import subprocess
import sys
import wave
from array import array
from pathlib import Path

PAUSES_S = [1.5, 2.5, 4.0, 2.0, 3.0, 1.5, 3.5, 2.0]
# Each prompt appears twice so the call runs about two minutes.
ROUNDS = 2


def read_prompt(path: Path) -> array:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 8000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        samples = array("h")
        samples.frombytes(w.readframes(w.getnframes()))
        return samples


def main() -> None:
    asterisk, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    prompts = []
    for line in (asterisk / "transcripts.txt").read_text().splitlines():
        name, text = line.split("\t", 1)
        prompts.append((read_prompt(asterisk / f"{name}.wav"), text))
    left, right = array("h"), array("h")
    reference = []
    turn = 0
    for _ in range(ROUNDS):
        for samples, text in prompts:
            own, other = (left, right) if turn % 2 == 0 else (right, left)
            pause = int(PAUSES_S[turn % len(PAUSES_S)] * 8000)
            own.extend(samples)
            other.extend(array("h", bytes(2 * len(samples))))
            for channel in (left, right):
                channel.extend(array("h", bytes(2 * pause)))
            reference.append(text)
            turn += 1
    pcm = out / "call-pcm.wav"
    with wave.open(str(pcm), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        frames = array("h")
        for l, r in zip(left, right):
            frames.append(l)
            frames.append(r)
        w.writeframes(frames.tobytes())
    subprocess.run(["sox", str(pcm), "-e", "u-law", str(out / "call.wav")], check=True)
    for index, name in ((1, "agent"), (2, "customer")):
        subprocess.run(
            ["sox", str(out / "call.wav"), "-r", "16000", "-e", "signed-integer", "-b", "16",
             str(out / f"call-{name}-16k.wav"), "remix", str(index)],
            check=True,
        )
    pcm.unlink()
    (out / "call.reference.txt").write_text(" ".join(reference) + "\n")
    print(f"{len(left) / 8000:.1f} s, {turn} turns", file=sys.stderr)


if __name__ == "__main__":
    main()
