//! Validate, dry-run, server-side apply in order, inventory, prune and wait.
