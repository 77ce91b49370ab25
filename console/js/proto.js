// Protocol Buffers binary encoding driven by the service's own descriptors
// (served at /console/schema.json, generated from proto/callscore/v1 at build
// time), so the console needs no generated code and no bundler.
//
// Messages are plain objects keyed by the .proto field names (snake_case).
// Enums are their value names ("CALL_STATUS_SCORED"), 64-bit integers are
// Numbers (every 64-bit field of the contract is a count, a size or
// milliseconds, far below 2^53), bytes are Uint8Array, maps are objects.

const TYPE = {
  DOUBLE: 1, FLOAT: 2, INT64: 3, UINT64: 4, INT32: 5, FIXED64: 6, FIXED32: 7,
  BOOL: 8, STRING: 9, MESSAGE: 11, BYTES: 12, UINT32: 13, ENUM: 14,
  SFIXED32: 15, SFIXED64: 16, SINT32: 17, SINT64: 18,
};

const WIRE = { VARINT: 0, I64: 1, LEN: 2, I32: 5 };

function wireType(type) {
  switch (type) {
    case TYPE.DOUBLE: case TYPE.FIXED64: case TYPE.SFIXED64: return WIRE.I64;
    case TYPE.FLOAT: case TYPE.FIXED32: case TYPE.SFIXED32: return WIRE.I32;
    case TYPE.STRING: case TYPE.BYTES: case TYPE.MESSAGE: return WIRE.LEN;
    default: return WIRE.VARINT;
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

class Writer {
  constructor() { this.chunks = []; this.length = 0; }
  push(bytes) { this.chunks.push(bytes); this.length += bytes.length; }
  varint(value) {
    let big = BigInt.asUintN(64, BigInt(value));
    const out = [];
    while (big > 0x7fn) { out.push(Number(big & 0x7fn) | 0x80); big >>= 7n; }
    out.push(Number(big));
    this.push(Uint8Array.from(out));
  }
  tag(number, wire) { this.varint(number * 8 + wire); }
  fixed(value, bytes, float) {
    const buffer = new DataView(new ArrayBuffer(bytes));
    if (float) {
      if (bytes === 8) buffer.setFloat64(0, value, true); else buffer.setFloat32(0, value, true);
    } else if (bytes === 8) {
      buffer.setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
    } else {
      buffer.setUint32(0, value >>> 0, true);
    }
    this.push(new Uint8Array(buffer.buffer));
  }
  bytes(value) { this.varint(value.length); this.push(value); }
  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) { out.set(chunk, at); at += chunk.length; }
    return out;
  }
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = 0;
  }
  done() { return this.at >= this.bytes.length; }
  varintBig() {
    let result = 0n; let shift = 0n;
    for (;;) {
      if (this.at >= this.bytes.length) throw new Error('truncated varint');
      const byte = this.bytes[this.at++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
      shift += 7n;
    }
  }
  varint() { return Number(this.varintBig()); }
  take(length) {
    if (this.at + length > this.bytes.length) throw new Error('truncated field');
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }
  skip(wire) {
    switch (wire) {
      case WIRE.VARINT: this.varintBig(); break;
      case WIRE.I64: this.take(8); break;
      case WIRE.I32: this.take(4); break;
      case WIRE.LEN: this.take(this.varint()); break;
      default: throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

/** The codec for one service contract, from its schema. */
export class Codec {
  constructor(schema) {
    this.messages = schema.messages;
    this.enums = schema.enums;
    this.services = schema.services;
    this.enumNames = {};
    for (const [name, values] of Object.entries(this.enums)) {
      this.enumNames[name] = Object.fromEntries(Object.entries(values).map(([k, v]) => [v, k]));
    }
  }

  method(service, method) {
    const found = this.services[service]?.[method];
    if (!found) throw new Error(`unknown RPC ${service}/${method}`);
    return found;
  }

  encode(typeName, message) {
    const writer = new Writer();
    this.encodeInto(writer, typeName, message ?? {});
    return writer.finish();
  }

  encodeInto(writer, typeName, message) {
    const descriptor = this.messages[typeName];
    if (!descriptor) throw new Error(`unknown message ${typeName}`);
    for (const field of descriptor.fields) {
      const value = message[field.name];
      if (value === undefined || value === null) continue;
      if (field.map) {
        const entry = this.messages[field.type_name].fields;
        for (const [key, item] of Object.entries(value)) {
          const inner = new Writer();
          this.writeValue(inner, entry[0], entry[0].type === TYPE.BOOL ? key === 'true' : key);
          this.writeValue(inner, entry[1], item);
          writer.tag(field.number, WIRE.LEN);
          writer.bytes(inner.finish());
        }
      } else if (field.repeated) {
        for (const item of value) this.writeValue(writer, field, item);
      } else {
        if (!field.explicit && !field.oneof && isDefault(field, value)) continue;
        this.writeValue(writer, field, value);
      }
    }
  }

  writeValue(writer, field, value) {
    switch (field.type) {
      case TYPE.MESSAGE: {
        const inner = new Writer();
        this.encodeInto(inner, field.type_name, value);
        writer.tag(field.number, WIRE.LEN);
        writer.bytes(inner.finish());
        return;
      }
      case TYPE.STRING:
        writer.tag(field.number, WIRE.LEN);
        writer.bytes(utf8Encoder.encode(String(value)));
        return;
      case TYPE.BYTES:
        writer.tag(field.number, WIRE.LEN);
        writer.bytes(value);
        return;
      case TYPE.ENUM: {
        const number = typeof value === 'number' ? value : this.enums[field.type_name][value];
        if (number === undefined) throw new Error(`${field.name}: unknown value ${value}`);
        writer.tag(field.number, WIRE.VARINT);
        writer.varint(number);
        return;
      }
      case TYPE.BOOL:
        writer.tag(field.number, WIRE.VARINT);
        writer.varint(value ? 1 : 0);
        return;
      case TYPE.SINT32: case TYPE.SINT64: {
        const big = BigInt(value);
        writer.tag(field.number, WIRE.VARINT);
        writer.varint(big >= 0n ? big * 2n : -big * 2n - 1n);
        return;
      }
      case TYPE.DOUBLE: writer.tag(field.number, WIRE.I64); writer.fixed(value, 8, true); return;
      case TYPE.FLOAT: writer.tag(field.number, WIRE.I32); writer.fixed(value, 4, true); return;
      case TYPE.FIXED64: case TYPE.SFIXED64:
        writer.tag(field.number, WIRE.I64); writer.fixed(value, 8, false); return;
      case TYPE.FIXED32: case TYPE.SFIXED32:
        writer.tag(field.number, WIRE.I32); writer.fixed(value, 4, false); return;
      default:
        writer.tag(field.number, WIRE.VARINT);
        writer.varint(Math.trunc(value));
    }
  }

  decode(typeName, bytes) {
    const descriptor = this.messages[typeName];
    if (!descriptor) throw new Error(`unknown message ${typeName}`);
    const byNumber = descriptor.byNumber ??= Object.fromEntries(descriptor.fields.map((f) => [f.number, f]));
    const message = {};
    for (const field of descriptor.fields) {
      if (field.map) message[field.name] = {};
      else if (field.repeated) message[field.name] = [];
      else if (!field.explicit && !field.oneof && field.type !== TYPE.MESSAGE) message[field.name] = defaultOf(this, field);
    }
    const reader = new Reader(bytes);
    while (!reader.done()) {
      const key = reader.varint();
      const number = Math.floor(key / 8);
      const wire = key & 7;
      const field = byNumber[number];
      if (!field) { reader.skip(wire); continue; }
      if (field.map) {
        const entry = this.decode(field.type_name, reader.take(reader.varint()));
        const [keyField, valueField] = this.messages[field.type_name].fields;
        message[field.name][entry[keyField.name]] = entry[valueField.name];
      } else if (field.repeated && wire === WIRE.LEN && wireType(field.type) !== WIRE.LEN) {
        const packed = new Reader(reader.take(reader.varint()));
        while (!packed.done()) message[field.name].push(this.readValue(packed, field));
      } else if (field.repeated) {
        message[field.name].push(this.readValue(reader, field));
      } else {
        message[field.name] = this.readValue(reader, field);
      }
    }
    return message;
  }

  readValue(reader, field) {
    switch (field.type) {
      case TYPE.MESSAGE: return this.decode(field.type_name, reader.take(reader.varint()));
      case TYPE.STRING: return utf8Decoder.decode(reader.take(reader.varint()));
      case TYPE.BYTES: return reader.take(reader.varint()).slice();
      case TYPE.ENUM: {
        const number = Number(BigInt.asIntN(32, reader.varintBig()));
        return this.enumNames[field.type_name][number] ?? number;
      }
      case TYPE.BOOL: return reader.varintBig() !== 0n;
      case TYPE.INT32: return Number(BigInt.asIntN(32, reader.varintBig()));
      case TYPE.INT64: return Number(BigInt.asIntN(64, reader.varintBig()));
      case TYPE.SINT32: case TYPE.SINT64: {
        const raw = reader.varintBig();
        return Number((raw & 1n) ? -(raw >> 1n) - 1n : raw >> 1n);
      }
      case TYPE.DOUBLE: { const v = reader.view.getFloat64(reader.at, true); reader.take(8); return v; }
      case TYPE.FLOAT: { const v = reader.view.getFloat32(reader.at, true); reader.take(4); return v; }
      case TYPE.FIXED64: { const v = reader.view.getBigUint64(reader.at, true); reader.take(8); return Number(v); }
      case TYPE.SFIXED64: { const v = reader.view.getBigInt64(reader.at, true); reader.take(8); return Number(v); }
      case TYPE.FIXED32: { const v = reader.view.getUint32(reader.at, true); reader.take(4); return v; }
      case TYPE.SFIXED32: { const v = reader.view.getInt32(reader.at, true); reader.take(4); return v; }
      default: return reader.varint();
    }
  }
}

function isDefault(field, value) {
  switch (field.type) {
    case TYPE.MESSAGE: return false;
    case TYPE.STRING: return value === '';
    case TYPE.BYTES: return value.length === 0;
    case TYPE.BOOL: return value === false;
    case TYPE.ENUM: return value === 0 || /_UNSPECIFIED$/.test(String(value));
    default: return Number(value) === 0;
  }
}

function defaultOf(codec, field) {
  switch (field.type) {
    case TYPE.STRING: return '';
    case TYPE.BYTES: return new Uint8Array(0);
    case TYPE.BOOL: return false;
    case TYPE.ENUM: return codec.enumNames[field.type_name][0] ?? 0;
    default: return 0;
  }
}

/** A google.protobuf.Timestamp as milliseconds since the epoch (null when unset). */
export function timestampMs(timestamp) {
  if (!timestamp) return null;
  return Number(timestamp.seconds ?? 0) * 1000 + Math.floor(Number(timestamp.nanos ?? 0) / 1e6);
}

/** Milliseconds since the epoch as a google.protobuf.Timestamp. */
export function toTimestamp(ms) {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
