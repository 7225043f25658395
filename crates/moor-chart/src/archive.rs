//! Safe extraction of a chart archive into the cache.
