//! Charts in OCI registries: versions from tags, the chart layer of a manifest.
