// The recording in the browser: GetCallAudio (WAV rendering) streamed into a
// Blob that the <audio> element can seek, and the waveform drawn from the
// same PCM samples.

import { h, svg } from './dom.js';

/** The call's recording as 16-bit PCM WAV bytes. */
export async function fetchWav(rpc, callId) {
  const chunks = [];
  let total = 0;
  for await (const part of rpc.stream('CallService', 'GetCallAudio', {
    call_id: callId, rendering: 'AUDIO_RENDERING_WAV',
  })) {
    chunks.push(part.data);
    total += part.data.length;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) { bytes.set(chunk, at); at += chunk.length; }
  return bytes;
}

/** Peak amplitude (0..1) per column of the mixed channels of a PCM WAV. */
export function peaks(wav, columns) {
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  let offset = 12;
  let channels = 1;
  let bits = 16;
  let data = null;
  while (offset + 8 <= wav.length) {
    const id = String.fromCharCode(...wav.subarray(offset, offset + 4));
    const size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') {
      channels = view.getUint16(offset + 10, true);
      bits = view.getUint16(offset + 22, true);
    } else if (id === 'data') {
      data = { start: offset + 8, size: Math.min(size, wav.length - offset - 8) };
      break;
    }
    offset += 8 + size + (size % 2);
  }
  const out = new Float32Array(columns);
  if (!data || bits !== 16) return out;
  const frames = Math.floor(data.size / (2 * channels));
  const perColumn = Math.max(1, Math.floor(frames / columns));
  for (let column = 0; column < columns; column += 1) {
    let peak = 0;
    const first = column * perColumn;
    for (let frame = first; frame < Math.min(frames, first + perColumn); frame += 1) {
      for (let channel = 0; channel < channels; channel += 1) {
        const sample = Math.abs(view.getInt16(data.start + (frame * channels + channel) * 2, true)) / 32768;
        if (sample > peak) peak = sample;
      }
    }
    out[column] = peak;
  }
  return out;
}

/**
 * The player: <audio> with native controls, the waveform, and one lane per
 * speaker showing when each talks; clicking the waveform seeks.
 */
export function player({ wav, durationMs, segments, labels }) {
  const url = URL.createObjectURL(new Blob([wav], { type: 'audio/wav' }));
  const audio = h('audio', { controls: true, preload: 'auto', src: url, id: 'call-audio', 'aria-label': labels.audio });
  const columns = 600;
  const values = peaks(wav, columns);
  const bars = [];
  values.forEach((value, column) => {
    const height = Math.max(1, value * 40);
    bars.push(svg('rect', { x: column, y: 20 - height / 2, width: 1, height }));
  });
  const cursor = svg('line', { x1: 0, x2: 0, y1: 0, y2: 40, class: 'cursor' });
  const wave = svg('svg', {
    class: 'waveform', viewBox: `0 0 ${columns} 40`, preserveAspectRatio: 'none',
    role: 'img', 'aria-label': labels.waveform,
  }, svg('g', { class: 'bars' }, bars), cursor);
  const total = Math.max(1, durationMs);
  const lane = (speaker, label) => h('div', { class: `lane ${speaker}`, 'aria-label': label, role: 'img' },
    h('span', { class: 'lane-label' }, label),
    segments.filter((segment) => segment.speaker === speaker).map((segment) => {
      const bar = h('span', { class: 'turn', title: label });
      bar.style.left = `${(Number(segment.start_ms) / total) * 100}%`;
      bar.style.width = `${Math.max(0.2, ((Number(segment.end_ms) - Number(segment.start_ms)) / total) * 100)}%`;
      return bar;
    }));
  const seek = (event) => {
    const box = wave.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    audio.currentTime = (share * total) / 1000;
  };
  wave.addEventListener('click', seek);
  audio.addEventListener('timeupdate', () => {
    const x = ((audio.currentTime * 1000) / total) * columns;
    cursor.setAttribute('x1', x);
    cursor.setAttribute('x2', x);
  });
  const element = h('section', { class: 'player', 'aria-label': labels.player },
    audio, wave,
    lane('SPEAKER_AGENT', labels.agent),
    lane('SPEAKER_CUSTOMER', labels.customer));
  return {
    element,
    audio,
    /** Plays from `ms`; browsers may refuse without a user's gesture. */
    playFrom(ms) {
      audio.currentTime = Number(ms) / 1000;
      return audio.play().catch(() => {});
    },
    dispose() { audio.pause(); URL.revokeObjectURL(url); },
  };
}
