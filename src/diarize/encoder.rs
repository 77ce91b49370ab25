//! The speaker encoder: Resemblyzer's GE2E network (Wan et al. 2018,
//! "Generalized End-to-End Loss for Speaker Verification"), three LSTM layers
//! of 256 units over 40-band mel frames, whose last hidden state goes through
//! a linear layer, a ReLU and L2 normalisation into a 256-dimensional voice
//! embedding. The weights come from the Resemblyzer 0.1.4 wheel on PyPI
//! (Apache-2.0), converted to safetensors at set-up
//! (`scripts/convert-speaker-encoder.py`).
//!
//! Windows are embedded in batches, so every step of the recurrence is one
//! matrix product over the whole batch.

use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use super::features::{MEL_BANDS, MelFrame};

/// LSTM units per layer.
const HIDDEN: usize = 256;
/// Gates per unit (input, forget, cell, output: PyTorch's order).
const GATES: usize = 4 * HIDDEN;
/// LSTM layers.
const LAYERS: usize = 3;
/// Embedding size.
pub const EMBEDDING: usize = 256;
/// Windows embedded together (bounds the batch's memory at ~20 MB).
const BATCH: usize = 32;

/// What went wrong loading the encoder.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// The file could not be read.
    #[error("cannot read the speaker encoder {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not the expected network.
    #[error("{path} is not a GE2E speaker encoder: {detail}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// One LSTM layer: weights transposed for `x · Wᵀ`, the two biases summed.
#[derive(Debug)]
struct Layer {
    inputs: usize,
    /// `[GATES][inputs]`, as stored.
    input_weights: Vec<f32>,
    /// `[GATES][HIDDEN]`, as stored.
    hidden_weights: Vec<f32>,
    bias: Vec<f32>,
}

/// The loaded network.
#[derive(Debug)]
pub struct SpeakerEncoder {
    layers: Vec<Layer>,
    /// `[EMBEDDING][HIDDEN]`.
    linear_weights: Vec<f32>,
    linear_bias: Vec<f32>,
}

/// `tanh` as a rational function (Eigen's float approximation, within a
/// few units in the last place): the recurrence takes five per unit and
/// step, and libm's `tanhf` (a call each, never vectorised) was most of the
/// encoder's time.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = x2 * -2.760_768_5e-16 + 2.000_188e-13;
    p = x2 * p + -8.604_672e-11;
    p = x2 * p + 5.122_297e-8;
    p = x2 * p + 1.485_722_4e-5;
    p = x2 * p + 6.372_619_3e-4;
    p = x2 * p + 4.893_524_6e-3;
    p *= x;
    let mut q = x2 * 1.198_258_4e-6 + 1.185_347_1e-4;
    q = x2 * q + 2.268_434_6e-3;
    q = x2 * q + 4.893_525e-3;
    p / q
}

/// The logistic function, through `tanh` (no overflow for large inputs).
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    0.5 * tanh(0.5 * x) + 0.5
}

impl SpeakerEncoder {
    /// Loads the converted weights.
    pub fn load(path: &Path) -> Result<Self, EncoderError> {
        let bytes = std::fs::read(path).map_err(|source| EncoderError::Read {
            path: path.to_owned(),
            source,
        })?;
        let format = |detail: String| EncoderError::Format {
            path: path.to_owned(),
            detail,
        };
        let tensors = SafeTensors::deserialize(&bytes).map_err(|e| format(e.to_string()))?;
        let read = |name: &str, shape: &[usize]| -> Result<Vec<f32>, EncoderError> {
            let view = tensors
                .tensor(name)
                .map_err(|_| format(format!("it has no tensor {name}")))?;
            if view.dtype() != Dtype::F32 || view.shape() != shape {
                return Err(format(format!(
                    "{name} is {:?} {:?}, expected F32 {shape:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            Ok(view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let mut layers = Vec::with_capacity(LAYERS);
        for layer in 0..LAYERS {
            let inputs = if layer == 0 { MEL_BANDS } else { HIDDEN };
            let input_bias = read(&format!("lstm.bias_ih_l{layer}"), &[GATES])?;
            let hidden_bias = read(&format!("lstm.bias_hh_l{layer}"), &[GATES])?;
            layers.push(Layer {
                inputs,
                input_weights: read(&format!("lstm.weight_ih_l{layer}"), &[GATES, inputs])?,
                hidden_weights: read(&format!("lstm.weight_hh_l{layer}"), &[GATES, HIDDEN])?,
                bias: input_bias
                    .iter()
                    .zip(&hidden_bias)
                    .map(|(a, b)| a + b)
                    .collect(),
            });
        }
        Ok(SpeakerEncoder {
            layers,
            linear_weights: read("linear.weight", &[EMBEDDING, HIDDEN])?,
            linear_bias: read("linear.bias", &[EMBEDDING])?,
        })
    }

    /// Embeds windows of `length` mel frames starting at `starts` (frames past
    /// the end read as silence): one unit-length vector per window.
    pub fn embed(&self, mel: &[MelFrame], starts: &[usize], length: usize) -> Vec<Vec<f32>> {
        starts
            .chunks(BATCH)
            .flat_map(|batch| self.embed_batch(mel, batch, length))
            .collect()
    }

    fn embed_batch(&self, mel: &[MelFrame], starts: &[usize], steps: usize) -> Vec<Vec<f32>> {
        let batch = starts.len();
        // Time-major input: row `t * batch + b` is window b's frame t.
        let mut input = vec![0f32; steps * batch * MEL_BANDS];
        for t in 0..steps {
            for (b, &start) in starts.iter().enumerate() {
                if let Some(frame) = mel.get(start + t) {
                    let row = (t * batch + b) * MEL_BANDS;
                    input[row..row + MEL_BANDS].copy_from_slice(frame);
                }
            }
        }
        let mut hidden = vec![0f32; batch * HIDDEN];
        for layer in &self.layers {
            let (outputs, last) = layer.run(&input, batch, steps);
            input = outputs;
            hidden = last;
        }
        hidden
            .chunks_exact(HIDDEN)
            .map(|h| {
                let mut embedding: Vec<f32> = self
                    .linear_weights
                    .chunks_exact(HIDDEN)
                    .zip(&self.linear_bias)
                    .map(|(row, bias)| {
                        (row.iter().zip(h).map(|(w, x)| w * x).sum::<f32>() + bias).max(0.0)
                    })
                    .collect();
                let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
                if norm > 0.0 {
                    embedding.iter_mut().for_each(|v| *v /= norm);
                }
                embedding
            })
            .collect()
    }
}

/// `c[m×n] = a[m×k] · bᵀ + beta · c`, with `b` stored `[n][k]`.
fn multiply_transposed(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    beta: f32,
) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    // SAFETY: the assertion bounds every index the strides can reach: a is
    // m rows of k, b is n rows of k read as its transpose, c is m rows of n.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            1,
            k as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

impl Layer {
    /// Runs the layer over time-major input (`[steps][batch][inputs]`);
    /// returns every step's hidden state (`[steps][batch][HIDDEN]`) and the last.
    fn run(&self, input: &[f32], batch: usize, steps: usize) -> (Vec<f32>, Vec<f32>) {
        // The input's share of every gate, for all steps at once.
        let mut gates = vec![0f32; steps * batch * GATES];
        multiply_transposed(
            input,
            &self.input_weights,
            &mut gates,
            steps * batch,
            self.inputs,
            GATES,
            0.0,
        );
        for row in gates.chunks_exact_mut(GATES) {
            row.iter_mut().zip(&self.bias).for_each(|(g, b)| *g += b);
        }
        let mut hidden = vec![0f32; batch * HIDDEN];
        let mut cell = vec![0f32; batch * HIDDEN];
        let mut outputs = vec![0f32; steps * batch * HIDDEN];
        for t in 0..steps {
            let step = &mut gates[t * batch * GATES..(t + 1) * batch * GATES];
            multiply_transposed(
                &hidden,
                &self.hidden_weights,
                step,
                batch,
                HIDDEN,
                GATES,
                1.0,
            );
            for ((g, c), h) in step
                .chunks_exact(GATES)
                .zip(cell.chunks_exact_mut(HIDDEN))
                .zip(hidden.chunks_exact_mut(HIDDEN))
            {
                let (input_gates, rest) = g.split_at(HIDDEN);
                let (forget_gates, rest) = rest.split_at(HIDDEN);
                let (candidates, output_gates) = rest.split_at(HIDDEN);
                let units = c
                    .iter_mut()
                    .zip(h.iter_mut())
                    .zip(input_gates.iter().zip(forget_gates))
                    .zip(candidates.iter().zip(output_gates));
                for (((c, h), (&i, &f)), (&candidate, &o)) in units {
                    *c = sigmoid(f) * *c + sigmoid(i) * tanh(candidate);
                    *h = sigmoid(o) * tanh(*c);
                }
            }
            outputs[t * batch * HIDDEN..(t + 1) * batch * HIDDEN].copy_from_slice(&hidden);
        }
        (outputs, hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rational_tanh_matches_libm() {
        let mut worst = 0f32;
        for i in -20_000..=20_000 {
            let x = i as f32 / 1000.0;
            worst = worst.max((tanh(x) - x.tanh()).abs());
        }
        assert!(worst < 1e-6, "largest error {worst}");
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
        assert!(sigmoid(40.0) <= 1.0 && sigmoid(-40.0) >= 0.0);
    }

    #[test]
    fn the_product_multiplies_by_the_transpose() {
        // a = [[1, 2], [3, 4]], b stored as rows [[5, 6], [7, 8]]:
        // a · bᵀ = [[17, 23], [39, 53]].
        let mut c = vec![1.0; 4];
        multiply_transposed(
            &[1.0, 2.0, 3.0, 4.0],
            &[5.0, 6.0, 7.0, 8.0],
            &mut c,
            2,
            2,
            2,
            1.0,
        );
        assert_eq!(c, vec![18.0, 24.0, 40.0, 54.0]);
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = SpeakerEncoder::load(Path::new("/nonexistent/ge2e.safetensors"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("/nonexistent/ge2e.safetensors"), "{error}");
    }
}
