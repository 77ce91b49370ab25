//! Sample-rate conversion to 16 kHz with rubato's FFT resampler.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler};

use super::{AudioError, SAMPLE_RATE};

/// Input chunk size of the FFT resampler: large enough to be fast, small
/// enough that its delay (trimmed by rubato) is negligible.
const CHUNK: usize = 1024;

/// Resamples every plane to [`SAMPLE_RATE`]; planes already there are returned as they are.
pub(super) fn to_16k(
    planes: Vec<Vec<f32>>,
    rate: u32,
    name: &str,
) -> Result<Vec<Vec<f32>>, AudioError> {
    if rate == SAMPLE_RATE {
        return Ok(planes);
    }
    let error = |detail: String| AudioError::Resample {
        file: name.to_string(),
        rate,
        detail,
    };
    let channels = planes.len();
    let frames = planes.first().map_or(0, Vec::len);
    let mut resampler = Fft::<f32>::new(
        rate as usize,
        SAMPLE_RATE as usize,
        CHUNK,
        channels,
        FixedSync::Input,
    )
    .map_err(|e| error(e.to_string()))?;
    let needed = resampler.process_all_needed_output_len(frames);
    let mut output = vec![vec![0.0f32; needed]; channels];
    let input =
        SequentialSliceOfVecs::new(&planes, channels, frames).map_err(|e| error(e.to_string()))?;
    let produced = {
        let mut out = SequentialSliceOfVecs::new_mut(&mut output, channels, needed)
            .map_err(|e| error(e.to_string()))?;
        let (_, produced) = resampler
            .process_all_into_buffer(&input, &mut out, frames, None)
            .map_err(|e| error(e.to_string()))?;
        produced
    };
    // Keep exactly the duration of the input so channel timing stays exact.
    let expected = (frames as u64 * u64::from(SAMPLE_RATE) / u64::from(rate)) as usize;
    let keep = produced.min(expected);
    for plane in &mut output {
        plane.truncate(keep);
        plane.shrink_to_fit();
    }
    Ok(output)
}
