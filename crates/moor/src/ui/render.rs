//! An app's sources rendered at a revision, for the diff panels: the same loading as
//! `moor app diff`, cached briefly so clicking through nodes renders once.

/// Recent renders, keyed by app, source and revision.
#[derive(Default)]
pub(crate) struct Renders {}

impl Renders {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        Self::default()
    }
}
