//! ggml block quantisation, bit-compatible with ggml's reference
//! `quantize_row_*_ref`, so whisper.cpp reads the result natively.

use half::f16;

/// Values per quantisation block.
pub const BLOCK: usize = 32;

/// Tensor storage types written to the ggml file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// 8-bit blocks with an f16 scale.
    Q8_0,
    /// 5-bit blocks with an f16 scale.
    Q5_0,
    /// 5-bit blocks with an f16 scale and minimum.
    Q5_1,
}

impl GgmlType {
    /// ggml's `ggml_type` id.
    pub fn id(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
        }
    }

    /// ggml's `ggml_ftype` for a file whose weights are mostly of this type.
    pub fn file_type(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => 7,
            Self::Q5_0 => 8,
            Self::Q5_1 => 9,
        }
    }

    /// Parses a command-line name such as `q8_0`.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "f32" => Some(Self::F32),
            "f16" => Some(Self::F16),
            "q8_0" => Some(Self::Q8_0),
            "q5_0" => Some(Self::Q5_0),
            "q5_1" => Some(Self::Q5_1),
            _ => None,
        }
    }

    /// Whether the type stores 32-value blocks.
    pub fn is_quantized(self) -> bool {
        matches!(self, Self::Q8_0 | Self::Q5_0 | Self::Q5_1)
    }
}

/// Encodes values as `kind`; quantised types need a multiple of [`BLOCK`] values.
pub fn encode(values: &[f32], kind: GgmlType) -> Vec<u8> {
    match kind {
        GgmlType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        GgmlType::F16 => values
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect(),
        GgmlType::Q8_0 => blocks(values, q8_0),
        GgmlType::Q5_0 => blocks(values, q5_0),
        GgmlType::Q5_1 => blocks(values, q5_1),
    }
}

fn blocks(values: &[f32], quantize: fn(&[f32], &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len());
    for block in values.chunks_exact(BLOCK) {
        quantize(block, &mut out);
    }
    out
}

/// `block_q8_0`: f16 scale d = max|x| / 127, then 32 × i8 round(x / d).
fn q8_0(x: &[f32], out: &mut Vec<u8>) {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    out.extend(x.iter().map(|v| ((v * id).round() as i8) as u8));
}

/// `block_q5_0`: f16 scale d = max / -16 (max: the value of largest
/// magnitude), u32 of high bits, 16 bytes of low nibbles.
fn q5_0(x: &[f32], out: &mut Vec<u8>) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    let d = max / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let quant = |v: f32| ((v * id + 16.5) as i8).min(31) as u8;
    pack5(x, d, None, quant, out);
}

/// `block_q5_1`: f16 scale d = (max - min) / 31, f16 minimum, u32 of high
/// bits, 16 bytes of low nibbles.
fn q5_1(x: &[f32], out: &mut Vec<u8>) {
    let min = x.iter().copied().fold(f32::INFINITY, f32::min);
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let d = (max - min) / 31.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let quant = |v: f32| ((v - min) * id + 0.5) as u8;
    pack5(x, d, Some(min), quant, out);
}

/// Lays out a 5-bit block: value j and j + 16 share byte j's nibbles; their
/// fifth bits go to bits j and j + 16 of `qh`.
fn pack5(x: &[f32], d: f32, min: Option<f32>, quant: impl Fn(f32) -> u8, out: &mut Vec<u8>) {
    let half = BLOCK / 2;
    let mut qh = 0u32;
    let mut qs = [0u8; BLOCK / 2];
    for j in 0..half {
        let (a, b) = (quant(x[j]), quant(x[j + half]));
        qs[j] = (a & 0x0F) | ((b & 0x0F) << 4);
        qh |= u32::from((a & 0x10) >> 4) << j;
        qh |= u32::from((b & 0x10) >> 4) << (j + half);
    }
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    if let Some(m) = min {
        out.extend_from_slice(&f16::from_f32(m).to_le_bytes());
    }
    out.extend_from_slice(&qh.to_le_bytes());
    out.extend_from_slice(&qs);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> Vec<f32> {
        (0..BLOCK).map(|i| (i as f32 - 12.0) / 10.0).collect()
    }

    #[test]
    fn q8_0_round_trips_within_half_a_step() {
        let x = ramp();
        let bytes = encode(&x, GgmlType::Q8_0);
        assert_eq!(bytes.len(), 34);
        let d = f16::from_le_bytes([bytes[0], bytes[1]]).to_f32();
        for (j, v) in x.iter().enumerate() {
            let back = f32::from(bytes[2 + j] as i8) * d;
            assert!((back - v).abs() <= d / 2.0 + 1e-3, "{j}: {back} vs {v}");
        }
    }

    #[test]
    fn q5_0_and_q5_1_round_trip_within_a_step() {
        let x = ramp();
        for (kind, size) in [(GgmlType::Q5_0, 22), (GgmlType::Q5_1, 24)] {
            let bytes = encode(&x, kind);
            assert_eq!(bytes.len(), size);
            let d = f16::from_le_bytes([bytes[0], bytes[1]]).to_f32();
            let (min, at) = if kind == GgmlType::Q5_1 {
                (f16::from_le_bytes([bytes[2], bytes[3]]).to_f32(), 4)
            } else {
                (0.0, 2)
            };
            let qh = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
            let qs = &bytes[at + 4..];
            for (j, v) in x.iter().enumerate() {
                let nibble = if j < 16 {
                    qs[j] & 0x0F
                } else {
                    qs[j - 16] >> 4
                };
                let q = nibble | ((((qh >> j) & 1) as u8) << 4);
                let back = if kind == GgmlType::Q5_0 {
                    (f32::from(q) - 16.0) * d
                } else {
                    f32::from(q) * d + min
                };
                assert!(
                    (back - v).abs() <= d.abs() + 1e-3,
                    "{kind:?} {j}: {back} vs {v}"
                );
            }
        }
    }
}
