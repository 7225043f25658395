//! Git source for moor: bare-repo cache, revision resolution, checkout, credentials, URL redaction.
