//! Placeholder: written by the UI back-end work (see ../ui.rs).
