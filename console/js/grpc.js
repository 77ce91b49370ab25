// gRPC-Web over fetch: the console calls the very RPCs of proto/callscore/v1
// that every other client calls, through the service's tonic-web layer.
// Wire format: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md

import { Codec } from './proto.js';

const DATA_FRAME = 0x00;
const TRAILER_FRAME = 0x80;

/** A failed RPC: the gRPC status code's name and the server's message. */
export class RpcError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

const CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION',
  'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
  'UNAUTHENTICATED',
];

function statusError(status, message) {
  const code = CODE_NAMES[Number(status)] ?? 'UNKNOWN';
  let text = message ?? '';
  try { text = decodeURIComponent(text); } catch { /* keep it as sent */ }
  return new RpcError(code, text);
}

function frame(bytes) {
  const out = new Uint8Array(5 + bytes.length);
  out[0] = DATA_FRAME;
  new DataView(out.buffer).setUint32(1, bytes.length, false);
  out.set(bytes, 5);
  return out;
}

function parseTrailers(bytes) {
  const trailers = {};
  for (const line of new TextDecoder().decode(bytes).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return trailers;
}

/** Splits a gRPC-Web response body, as it arrives, into frames. */
class FrameReader {
  constructor(body) { this.reader = body.getReader(); this.buffer = new Uint8Array(0); this.ended = false; }
  async fill(count) {
    while (this.buffer.length < count && !this.ended) {
      const { value, done } = await this.reader.read();
      if (done) { this.ended = true; break; }
      const joined = new Uint8Array(this.buffer.length + value.length);
      joined.set(this.buffer); joined.set(value, this.buffer.length);
      this.buffer = joined;
    }
    return this.buffer.length >= count;
  }
  async next() {
    if (!(await this.fill(5))) {
      if (this.buffer.length > 0) throw new RpcError('DATA_LOSS', 'the response ended inside a frame');
      return null;
    }
    const length = new DataView(this.buffer.buffer, this.buffer.byteOffset).getUint32(1, false);
    if (!(await this.fill(5 + length))) throw new RpcError('DATA_LOSS', 'the response ended inside a frame');
    const flags = this.buffer[0];
    const payload = this.buffer.slice(5, 5 + length);
    this.buffer = this.buffer.slice(5 + length);
    return { flags, payload };
  }
  cancel() { this.reader.cancel().catch(() => {}); }
}

export class Client {
  constructor(schema, key) {
    this.codec = new Codec(schema);
    this.key = key;
  }

  async *stream(service, method, request, signal) {
    const rpc = this.codec.method(`callscore.v1.${service}`, method);
    let response;
    try {
      response = await fetch(`/callscore.v1.${service}/${method}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/grpc-web+proto',
          'x-grpc-web': '1',
          authorization: `Bearer ${this.key}`,
        },
        body: frame(this.codec.encode(rpc.input, request)),
        signal,
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new RpcError('UNAVAILABLE', 'the server cannot be reached');
    }
    // A trailers-only answer (an error before any message) carries the status in the headers.
    const headerStatus = response.headers.get('grpc-status');
    if (headerStatus !== null && headerStatus !== '0') {
      throw statusError(headerStatus, response.headers.get('grpc-message'));
    }
    if (!response.ok) throw new RpcError('UNAVAILABLE', `HTTP ${response.status}`);
    const frames = new FrameReader(response.body);
    try {
      for (;;) {
        const next = await frames.next();
        if (next === null) {
          if (headerStatus === '0') return;
          throw new RpcError('UNKNOWN', 'the response ended without a status');
        }
        if (next.flags & TRAILER_FRAME) {
          const trailers = parseTrailers(next.payload);
          if (trailers['grpc-status'] !== '0') throw statusError(trailers['grpc-status'], trailers['grpc-message']);
          return;
        }
        yield this.codec.decode(rpc.output, next.payload);
      }
    } finally {
      frames.cancel();
    }
  }

  async call(service, method, request, signal) {
    let answer = null;
    for await (const message of this.stream(service, method, request, signal)) answer = message;
    if (answer === null) throw new RpcError('INTERNAL', `${method} returned no message`);
    return answer;
  }
}

/** Loads the contract's descriptors once per page. */
export async function loadSchema() {
  const response = await fetch('/console/schema.json');
  if (!response.ok) throw new Error(`schema: HTTP ${response.status}`);
  return response.json();
}
