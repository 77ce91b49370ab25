//! Reader for CTranslate2's `model.bin` (binary version 6).

use std::collections::HashMap;

use half::{bf16, f16};

use super::ImportError;

/// One variable, converted to f32 (f16 → f32 → f16 is exact, so nothing is lost).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Shape, outermost first (row-major).
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// All variables of a model, with aliases resolved.
#[derive(Debug, Default)]
pub struct Ct2Model {
    variables: HashMap<String, Variable>,
    aliases: HashMap<String, String>,
}

impl Ct2Model {
    /// Parses the bytes of a `model.bin`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ImportError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u32()?;
        if version != 6 {
            return Err(ImportError::Format(format!(
                "CTranslate2 binary version {version}, expected 6"
            )));
        }
        let spec = r.string()?;
        if spec != "WhisperSpec" {
            return Err(ImportError::Format(format!(
                "model spec {spec:?}, expected WhisperSpec"
            )));
        }
        let _revision = r.u32()?;
        let count = r.u32()?;
        let mut variables = HashMap::new();
        for _ in 0..count {
            let name = r.string()?;
            let rank = r.u8()?;
            let shape = (0..rank)
                .map(|_| r.u32().map(|d| d as usize))
                .collect::<Result<Vec<_>, _>>()?;
            let dtype = r.u8()?;
            let num_bytes = r.u32()? as usize;
            let raw = r.take(num_bytes)?;
            let data = decode(dtype, raw).ok_or_else(|| {
                ImportError::Format(format!("variable {name}: unknown dtype {dtype}"))
            })?;
            let elements: usize = shape.iter().product();
            if data.len() != elements.max(1) {
                return Err(ImportError::Format(format!(
                    "variable {name}: {} values for shape {shape:?}",
                    data.len()
                )));
            }
            variables.insert(name, Variable { shape, data });
        }
        let mut aliases = HashMap::new();
        // Older files end without an alias table.
        if r.remaining() >= 4 {
            for _ in 0..r.u32()? {
                let alias = r.string()?;
                let target = r.string()?;
                aliases.insert(alias, target);
            }
        }
        Ok(Self { variables, aliases })
    }

    /// A variable by name or alias.
    pub fn get(&self, name: &str) -> Result<&Variable, ImportError> {
        self.variables
            .get(name)
            .or_else(|| self.aliases.get(name).and_then(|t| self.variables.get(t)))
            .ok_or_else(|| ImportError::Missing(name.to_string()))
    }

    /// A scalar variable (such as `encoder/num_heads`) as an integer.
    pub fn scalar(&self, name: &str) -> Result<i32, ImportError> {
        let variable = self.get(name)?;
        variable
            .data
            .first()
            .map(|v| *v as i32)
            .ok_or_else(|| ImportError::Format(format!("{name} is empty")))
    }

    /// How many `prefix/layer_N` blocks exist.
    pub fn layer_count(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                let head = format!("{prefix}/layer_{i}/");
                self.variables.keys().any(|k| k.starts_with(&head))
            })
            .count()
    }
}

/// Converts raw little-endian values of a CTranslate2 dtype to f32.
fn decode(dtype: u8, raw: &[u8]) -> Option<Vec<f32>> {
    let values = match dtype {
        0 => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        1 => raw.iter().map(|&b| f32::from(b as i8)).collect(),
        2 => raw
            .chunks_exact(2)
            .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
            .collect(),
        3 => raw
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        4 => raw
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        5 => raw
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        _ => return None,
    };
    Some(values)
}

/// A cursor over the file's bytes that reports truncation instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ImportError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end =
            end.ok_or_else(|| ImportError::Format(format!("file truncated at byte {}", self.pos)))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn u8(&mut self) -> Result<u8, ImportError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ImportError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ImportError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A string: u16 length including a trailing NUL, then the bytes.
    fn string(&mut self) -> Result<String, ImportError> {
        let len = self.u16()? as usize;
        let raw = self.take(len)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec())
            .map_err(|_| ImportError::Format("a name is not UTF-8".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    #[test]
    fn parses_variables_and_aliases() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&6u32.to_le_bytes());
        string(&mut bytes, "WhisperSpec");
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&2u32.to_le_bytes());
        string(&mut bytes, "a/weight");
        bytes.push(2);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.push(4);
        bytes.extend_from_slice(&4u32.to_le_bytes());
        bytes.extend_from_slice(&f16::from_f32(1.5).to_le_bytes());
        bytes.extend_from_slice(&f16::from_f32(-2.0).to_le_bytes());
        string(&mut bytes, "encoder/num_heads");
        bytes.push(0);
        bytes.push(1);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.push(6);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        string(&mut bytes, "b/weight");
        string(&mut bytes, "a/weight");
        let model = Ct2Model::parse(&bytes).expect("parses");
        assert_eq!(model.get("a/weight").expect("a").data, vec![1.5, -2.0]);
        assert_eq!(model.get("b/weight").expect("alias").shape, vec![1, 2]);
        assert_eq!(model.scalar("encoder/num_heads").expect("heads"), 6);
        assert!(Ct2Model::parse(&bytes[..bytes.len() - 30]).is_err());
    }
}
