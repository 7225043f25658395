//! Renderers (plain YAML, Kustomize, Helm) behind one trait, with a cache key.
