//! How moor turns an error into text for a person: the error and each of its causes, once.
//!
//! moor's own error enums follow one rule: a message describes only its own step and never
//! repeats its cause; the cause is the error's `source()`, and whoever prints the error (the CLI,
//! an Application condition, a log line) prints the whole chain with [`error_chain`]. Some
//! libraries do repeat their cause in their message; those repeats are dropped here.

use std::error::Error;

/// The error and its causes joined by `": "`, each cause once: one whose text the line already
/// holds (a library that repeated it in its own message) is skipped.
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut line = String::new();
    let mut next: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        let text = text.trim();
        if !text.is_empty() && !line.contains(text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(text);
        }
        next = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Step(&'static str, Option<Box<dyn Error + 'static>>);

    impl fmt::Display for Step {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Step {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    #[test]
    fn each_cause_is_printed_once_in_order() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let io_text = io.to_string();
        let chain = Step(
            "failed to load",
            Some(Box::new(Step("failed to read", Some(Box::new(io))))),
        );
        assert_eq!(
            error_chain(&chain),
            format!("failed to load: failed to read: {io_text}")
        );
    }

    #[test]
    fn a_cause_repeated_in_its_parents_message_is_printed_once() {
        // What kube's errors do: "failed to read kubeconfig from ...: <io error>" with the io error
        // as source too.
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let io_text = io.to_string();
        let repeated: &'static str =
            Box::leak(format!("failed to read x: {io_text}").into_boxed_str());
        let chain = Step("outer", Some(Box::new(Step(repeated, Some(Box::new(io))))));
        let line = error_chain(&chain);
        assert_eq!(line.matches(&io_text).count(), 1, "{line}");
        assert_eq!(line, format!("outer: failed to read x: {io_text}"));
    }
}
