//! Chart dependencies: what Chart.yaml and Chart.lock name, fetched into archives helm template reads.
