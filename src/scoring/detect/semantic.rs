//! Semantic checks on the evaluator: segment embeddings, computed once per
//! call, compared with a check's exemplars and counter-exemplars.

use std::rc::Rc;

use super::super::compiled::SemanticFinder;
use super::Evaluator;
use crate::semantic::{Embedding, similarity};

impl Evaluator<'_, '_> {
    /// A segment's embedding and pooled layers, computed on first use;
    /// `None` without an encoder, or when the encoder failed on the text.
    pub(super) fn segment_vector(&self, seg: usize) -> Option<Rc<Embedding>> {
        let encoder = self.rubric.encoder.as_ref()?;
        if let Some(cached) = self.vectors.borrow().get(seg).cloned().flatten() {
            return cached;
        }
        let text = &self.a.transcript.segments.get(seg)?.text;
        let vector = match encoder.embed_with_layers(text) {
            Ok(v) => Some(Rc::new(v)),
            Err(error) => {
                tracing::warn!(%error, segment = seg, "sentence encoder failed");
                None
            }
        };
        if let Some(slot) = self.vectors.borrow_mut().get_mut(seg) {
            *slot = Some(vector.clone());
        }
        vector
    }

    /// The closest exemplar and its similarity, when the segment is at least
    /// `threshold` close to it and closer to the exemplars than to every
    /// counter-exemplar.
    pub(super) fn semantic_match(
        &self,
        finder: &SemanticFinder,
        seg: usize,
    ) -> Option<(usize, f64)> {
        let vector = self.segment_vector(seg)?;
        let best = finder
            .exemplars
            .iter()
            .enumerate()
            .map(|(i, (_, e))| (i, similarity(&vector.unit, e)))
            .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)))?;
        let counter = finder
            .counter_exemplars
            .iter()
            .map(|(_, e)| similarity(&vector.unit, e))
            .fold(f64::NEG_INFINITY, f64::max);
        (best.1 >= finder.threshold && best.1 > counter).then_some(best)
    }
}
