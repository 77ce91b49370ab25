"""Times callscore, whisper.cpp's CLI and faster-whisper on the same audio,
weights and thread count, and prints real-time factor, WER, peak memory and
ratios. Driven by scripts/bench-transcribe.sh, which provisions everything.

usage: run.py CONFIG.json
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def normalise(text: str) -> list:
    """Same rules as the tests: case, punctuation, bracketed notes, numbers."""
    out, depth = [], 0
    for c in text:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
        elif depth:
            continue
        elif c in "'\u2019":
            continue
        elif c.isalnum():
            out.append(c.lower())
        else:
            out.append(" ")
    words = []
    for word in "".join(out).split():
        words.extend(spell(int(word)) if word.isdigit() and int(word) < 1_000_000 else [word])
    return words


ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell(n: int) -> list:
    def below_thousand(n):
        words = []
        if n >= 100:
            words += [ONES[n // 100], "hundred"]
        rest = n % 100
        if rest >= 20:
            words.append(TENS[rest // 10])
            if rest % 10:
                words.append(ONES[rest % 10])
        elif rest or n == 0:
            words.append(ONES[rest])
        return words
    if n >= 1000:
        return below_thousand(n // 1000) + ["thousand"] + (below_thousand(n % 1000) if n % 1000 else [])
    return below_thousand(n)


def wer(reference: str, hypothesis: str) -> float:
    r, h = normalise(reference), normalise(hypothesis)
    previous = list(range(len(h) + 1))
    for i, x in enumerate(r):
        current = [i + 1] * (len(h) + 1)
        for j, y in enumerate(h):
            current[j + 1] = min(previous[j] + (x != y), previous[j + 1] + 1, current[j] + 1)
        previous = current
    return previous[-1] / len(r)


class EngineFailed(Exception):
    """An engine's process failed: the bench reports it and goes on with the rest."""


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            import signal
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def timed(command: list) -> tuple:
    """Runs a command under /usr/bin/time -v: (stdout, stderr, wall s, peak RSS MB)."""
    start = time.perf_counter()
    # A raised priority keeps background builds on a shared machine from
    # skewing the comparison; every engine gets the same.
    nice = ["nice", "-n", str(NICE)] if NICE else []
    proc = subprocess.run(nice + ["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    # /usr/bin/time reports a child killed by a signal as "Command terminated by signal N".
    signalled = re.search(r"Command terminated by signal (\d+)", proc.stderr)
    code = -int(signalled.group(1)) if signalled else proc.returncode
    if code != 0:
        print(f"  failed ({describe_exit(code)}): {' '.join(command)}\n"
              f"  {proc.stderr[-600:].strip()}", file=sys.stderr)
        raise EngineFailed(describe_exit(code))
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr))
    CPU_SECONDS.append(cpu)
    return proc.stdout, proc.stderr, wall, int(rss.group(1)) / 1024 if rss else float("nan")


# Niceness of the timed processes (negative needs root); set from the config.
NICE = 0

# CPU seconds of every timed process, in order; read back per engine run.
# On a shared machine, CPU time is steadier than wall time.
CPU_SECONDS = []


WHISPER_CPP_LINE = re.compile(r"^\[(\d+):(\d+):(\d+\.\d+) --> [^\]]+\]\s*(.*)$")


def run_callscore(cfg, audio, extra):
    out, err, wall, rss = timed(
        [cfg["callscore"], "transcribe", audio["file"], "--language", "en", "--channels",
         audio["layout"], "--threads", str(cfg["threads"]), "--format", "json", "--timings",
         "--model", extra["model"]] + extra.get("flags", []))
    segments = json.loads(out)["segments"]
    text = " ".join(s["text"] for s in segments)
    inner = float(re.search(r"transcribe_s=([\d.]+)", err).group(1))
    return text, wall, rss, inner


def run_whisper_cpp(cfg, audio, extra):
    texts, total_wall, peak = [], 0.0, 0.0
    for path in audio["channels_16k"]:
        out, _err, wall, rss = timed(
            [cfg["whisper_cli"], "-m", extra["model"], "-f", path, "-t", str(cfg["threads"]),
             "-l", "en", "-bs", "1", "-bo", "1", "-np"])
        total_wall += wall
        peak = max(peak, rss)
        for line in out.splitlines():
            m = WHISPER_CPP_LINE.match(line.strip())
            if m:
                start = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
                texts.append((start, m.group(4)))
    texts.sort()
    return " ".join(t for _, t in texts), total_wall, peak, float("nan")


def run_faster_whisper(cfg, audio, extra):
    out, _err, wall, rss = timed(
        [cfg["python"], cfg["fw_runner"], cfg["ct2_dir"], str(cfg["threads"]),
         "1" if extra.get("vad") else "0"] + audio["channels_any"])
    result = json.loads(out)
    text = " ".join(s["text"] for s in result["segments"])
    return text, wall, rss, result["transcribe_s"]


RUNNERS = {"callscore": run_callscore, "whisper.cpp": run_whisper_cpp, "faster-whisper": run_faster_whisper}


def run_copies(cfg, audio, engine, copies):
    """Runs `copies` transcriptions of the same call at once, as a busy node
    does: (text, wall of the slowest, peak RSS of one, inner of the slowest)."""
    if copies == 1:
        return RUNNERS[engine["kind"]](cfg, audio, engine)
    with ThreadPoolExecutor(copies) as pool:
        futures = [pool.submit(RUNNERS[engine["kind"]], cfg, audio, engine) for _ in range(copies)]
        done = [f.result() for f in futures]
    return (done[0][0], max(d[1] for d in done), max(d[2] for d in done),
            max(d[3] for d in done))


class Burners:
    """Busy processes at the timed processes' niceness: the background load
    of a node whose other work competes for the same cores."""

    def __init__(self, count):
        self.count = count
        self.procs = []

    def __enter__(self):
        nice = ["nice", "-n", str(NICE)] if NICE else []
        self.procs = [subprocess.Popen(nice + [sys.executable, "-c", "while True: pass"])
                      for _ in range(self.count)]
        return self

    def __exit__(self, *_):
        for proc in self.procs:
            proc.kill()
            proc.wait()


def run_scenarios(cfg):
    """Each scenario: the bench call, a few engines, several calls at once or
    busy processes beside them; per engine, wall and CPU seconds per call."""
    for scenario in cfg.get("scenarios", []):
        audio = next(a for a in cfg["audio"] if a["name"] == scenario["audio"])
        reference = Path(audio["reference"]).read_text()
        copies, burners = scenario.get("copies", 1), scenario.get("burners", 0)
        engines = [e for e in cfg["engines"] if e["name"] in scenario["engines"]]
        results = {e["name"]: [] for e in engines}
        texts, failed = {}, {}
        with Burners(burners):
            for _ in range(cfg["runs"]):
                for engine in engines:
                    if engine["name"] in failed:
                        continue
                    before = len(CPU_SECONDS)
                    try:
                        text, wall, rss, inner = run_copies(cfg, audio, engine, copies)
                    except EngineFailed as error:
                        failed[engine["name"]] = str(error)
                        continue
                    cpu = sum(CPU_SECONDS[before:]) / copies
                    results[engine["name"]].append((wall, rss, inner, cpu))
                    texts[engine["name"]] = text
        print(f"\n== {scenario['name']}: {audio['name']}, {audio['duration_s']:.1f} s of audio, "
              f"{copies} call(s) at once of {cfg['threads']} threads each, {burners} busy process(es) "
              f"beside them, median of {cfg['runs']} runs ==")
        print(f"{'engine':<30} {'wall s':>7} {'CPU s/call':>10} {'CPU s per h':>11} {'WER':>6} "
              f"{'peak MB':>8}")
        for engine in engines:
            name = engine["name"]
            if name in failed:
                print(f"{name:<30} failed: {failed[name]}")
                continue
            runs = results[name]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[3] for r in runs)
            per_hour = cpu * 3600 / audio["duration_s"]
            print(f"{name:<30} {wall:7.2f} {cpu:10.2f} {per_hour:11.0f} "
                  f"{wer(reference, texts[name]):6.3f} {max(r[1] for r in runs):8.0f}")
        print("wall: until the slowest of the calls at once finished; CPU s/call: user + system "
              "seconds per call; CPU s per h: per hour of call audio.")


def main() -> None:
    global NICE
    cfg = json.loads(Path(sys.argv[1]).read_text())
    NICE = int(cfg.get("nice", 0))
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average before the run: {' '.join(load)} on {os.cpu_count()} CPUs; nice {NICE}")
    for audio in cfg["audio"]:
        reference = Path(audio["reference"]).read_text()
        results = {e["name"]: [] for e in cfg["engines"]}
        texts = {}
        failed = {}
        # Rounds interleave the engines so background load hits all alike.
        for _ in range(cfg["runs"]):
            for engine in cfg["engines"]:
                if engine["name"] in failed:
                    continue
                before = len(CPU_SECONDS)
                try:
                    text, wall, rss, inner = RUNNERS[engine["kind"]](cfg, audio, engine)
                except EngineFailed as error:
                    # A crashing peer (whisper.cpp's CLI segfaulted on q8_0
                    # weights on an AMX CPU) must not stop the others.
                    failed[engine["name"]] = str(error)
                    continue
                cpu = sum(CPU_SECONDS[before:])
                results[engine["name"]].append((wall, rss, inner, cpu))
                texts[engine["name"]] = text
        load = Path("/proc/loadavg").read_text().split()[0]
        print(f"\n== {audio['name']}: {audio['duration_s']:.1f} s of audio, {cfg['threads']} threads, "
              f"median of {cfg['runs']} runs; load average after: {load} ==")
        print(f"{'engine':<30} {'wall s':>7} {'RTF':>6} {'inner s':>8} {'CPU s':>6} {'WER':>6} {'peak MB':>8} "
              f"{'vs fw-int8':>10} {'vs fw+vad':>10} {'vs w.cpp':>9}")
        med = {n: statistics.median(r[0] for r in v) for n, v in results.items() if n not in failed}
        for engine in cfg["engines"]:
            name = engine["name"]
            if name in failed:
                print(f"{name:<30} failed: {failed[name]}")
                continue
            runs = results[name]
            wall = med[name]
            rss = max(r[1] for r in runs)
            inner = statistics.median(r[2] for r in runs)
            cpu = statistics.median(r[3] for r in runs)
            error = wer(reference, texts[name])
            ratio = lambda peer: f"{med[peer] / wall:9.2f}x" if peer in med else "        -"
            print(f"{name:<30} {wall:7.2f} {audio['duration_s'] / wall:6.1f} {inner:8.2f} {cpu:6.2f} "
                  f"{error:6.3f} {rss:8.0f} {ratio('faster-whisper int8'):>10} "
                  f"{ratio('faster-whisper int8 +vad'):>10} {ratio('whisper.cpp cli f16'):>9}")
        print("RTF: seconds of audio per wall second (higher is faster); wall includes process "
              "start and model load; inner: transcription only, as the engine reports it; "
              "CPU s: user + system seconds of the processes; "
              "ratios: peer wall / this wall (above 1: this is faster).")
        if cfg.get("show_text"):
            for name, text in texts.items():
                print(f"  {name}: {text[:300]}")
    run_scenarios(cfg)


if __name__ == "__main__":
    main()
