//! Normalised diff of live vs desired objects, Secret values masked.
