//! Running the external renderers (kustomize, helm) with a timeout.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::RenderError;

/// An external tool: its name as users know it and the CLI flag that points moor at it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tool {
    pub name: &'static str,
    pub flag: &'static str,
}

pub(crate) const KUSTOMIZE: Tool = Tool {
    name: "kustomize",
    flag: "--kustomize-bin",
};
pub(crate) const HELM: Tool = Tool {
    name: "helm",
    flag: "--helm-bin",
};
pub(crate) const JSONNET: Tool = Tool {
    name: "jsonnet",
    flag: "--jsonnet-bin",
};

/// The configured binary if given (it must exist), else `tool.name` on PATH.
pub(crate) fn find_bin(tool: Tool, configured: Option<&Path>) -> Result<PathBuf, RenderError> {
    let not_found = |path: Option<&Path>| RenderError::ToolNotFound {
        tool: tool.name,
        flag: tool.flag,
        path: path.map(Path::to_path_buf),
    };
    if let Some(p) = configured {
        return if is_executable(p) {
            Ok(p.to_path_buf())
        } else {
            Err(not_found(Some(p)))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(tool.name))
        .find(|p| is_executable(p))
        .ok_or_else(|| not_found(None))
}

fn is_executable(p: &Path) -> bool {
    let Ok(meta) = p.metadata() else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// At most this much of a tool's stderr is kept for its error; the rest is read and dropped.
const STDERR_KEPT: usize = 64 << 10;

/// What a pipe-draining thread hands back.
enum Drained {
    All(Vec<u8>),
    /// The pipe held more than the limit: reading stopped there.
    TooLarge,
}

/// Runs `cmd` (a `command` such as "kustomize build" rendering `dir`) and returns its stdout.
/// A non-zero exit is an error carrying stderr; past `timeout`, or once stdout passes
/// `max_bytes`, the child is killed.
pub(crate) fn run(
    tool: Tool,
    command: &str,
    dir: &Path,
    mut cmd: Command,
    timeout: Duration,
    max_bytes: u64,
) -> Result<String, RenderError> {
    let deadline = Instant::now() + timeout;
    let timed_out = || RenderError::Timeout {
        tool: tool.name,
        dir: dir.to_path_buf(),
        timeout,
    };
    let failed = |stderr: String| RenderError::ToolFailed {
        command: command.to_string(),
        dir: dir.to_path_buf(),
        stderr,
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(&mut cmd).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RenderError::ToolNotFound {
            tool: tool.name,
            flag: tool.flag,
            path: Some(PathBuf::from(cmd.get_program())),
        },
        _ => failed(e.to_string()),
    })?;

    // Pipes are drained on threads so a chatty child never blocks on a full pipe.
    let (out_tx, out_rx) = mpsc::channel();
    let (err_tx, err_rx) = mpsc::channel();
    drain(child.stdout.take(), out_tx, Some(max_bytes));
    drain(child.stderr.take(), err_tx, None);
    let too_large = || RenderError::TooLarge {
        what: format!("the output of {command}"),
        limit: max_bytes,
    };

    let mut poll = Duration::from_millis(2);
    let mut stdout = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(failed(e.to_string())),
        }
        // Output without end is stopped as soon as it passes the limit, not at the timeout.
        if let Ok(out) = out_rx.try_recv() {
            if matches!(out, Drained::TooLarge) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(too_large());
            }
            stdout = Some(out);
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(timed_out());
        }
        std::thread::sleep(poll.min(deadline - now));
        poll = (poll * 2).min(Duration::from_millis(50));
    };

    // A grandchild may still hold the pipes open, so reading is bounded by the deadline too.
    let recv = |rx: mpsc::Receiver<Drained>| match rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        Ok(Drained::All(bytes)) => Ok(bytes),
        Ok(Drained::TooLarge) => Err(too_large()),
        Err(_) => Err(timed_out()),
    };
    let stdout = match stdout {
        Some(Drained::All(bytes)) => bytes,
        Some(Drained::TooLarge) => return Err(too_large()),
        None => recv(out_rx)?,
    };
    let stderr = String::from_utf8_lossy(&recv(err_rx)?).trim().to_string();
    if !status.success() {
        return Err(failed(if stderr.is_empty() {
            status.to_string()
        } else {
            stderr
        }));
    }
    if !stderr.is_empty() {
        tracing::debug!(tool = tool.name, dir = %dir.display(), %stderr, "renderer wrote to stderr");
    }
    String::from_utf8(stdout).map_err(|_| failed("output is not valid UTF-8".to_string()))
}

/// Spawns, retrying briefly on ETXTBSY: a binary just written (a tool being installed, or a
/// test's fake) can still be open in a child forked concurrently by another thread.
fn spawn(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            r => return r,
        }
    }
}

/// Reads `pipe` to its end on a thread. With a `limit`, reading stops past it (the child then
/// gets EPIPE and is killed by the caller); without one, only the first [`STDERR_KEPT`] bytes
/// are kept, so neither pipe can grow memory without bound.
fn drain(pipe: Option<impl Read + Send + 'static>, tx: mpsc::Sender<Drained>, limit: Option<u64>) {
    let Some(mut pipe) = pipe else {
        let _ = tx.send(Drained::All(Vec::new()));
        return;
    };
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            match limit {
                Some(limit) if (buf.len() + n) as u64 > limit => {
                    let _ = tx.send(Drained::TooLarge);
                    return;
                }
                Some(_) => buf.extend_from_slice(&chunk[..n]),
                None => {
                    let room = STDERR_KEPT.saturating_sub(buf.len()).min(n);
                    buf.extend_from_slice(&chunk[..room]);
                }
            }
        }
        let _ = tx.send(Drained::All(buf));
    });
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A fake tool: a shell script in a temp dir.
    fn script(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("fake-tool");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn run_script(body: &str, timeout: Duration) -> Result<String, RenderError> {
        run_capped(body, timeout, crate::DEFAULT_MAX_BYTES)
    }

    fn run_capped(body: &str, timeout: Duration, max: u64) -> Result<String, RenderError> {
        let tmp = tempfile::tempdir().unwrap();
        let bin = find_bin(KUSTOMIZE, Some(&script(tmp.path(), body))).unwrap();
        run(
            KUSTOMIZE,
            "kustomize build",
            Path::new("apps/web"),
            Command::new(bin),
            timeout,
            max,
        )
    }

    #[test]
    fn output_without_end_is_cut_at_the_limit_and_the_tool_killed() {
        let start = Instant::now();
        let err = run_capped("exec yes 'a: 1'", Duration::from_secs(60), 1 << 20).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(
            err.to_string(),
            "the output of kustomize build is larger than the render limit of 1048576 bytes"
        );
        let out = run_capped("echo 'a: 1'", Duration::from_secs(20), 6).unwrap();
        assert_eq!(out, "a: 1\n", "output right at the limit passes");
    }

    #[test]
    fn endless_stderr_is_bounded_and_the_error_keeps_its_start() {
        let err = run_capped(
            "echo first >&2; yes xxxxxxxx | head -c 50000000 >&2; exit 1",
            Duration::from_secs(60),
            1 << 20,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("first"), "{}", &msg[..100]);
        assert!(msg.len() <= STDERR_KEPT + 200, "{}", msg.len());
    }

    #[test]
    fn returns_stdout_and_tolerates_stderr_on_success() {
        let out = run_script("echo warning >&2; echo 'a: 1'", Duration::from_secs(20)).unwrap();
        assert_eq!(out, "a: 1\n");
    }

    #[test]
    fn failure_carries_stderr() {
        let err = run_script(
            "echo 'Error: no kustomization' >&2; exit 1",
            Duration::from_secs(20),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to run kustomize build apps/web: Error: no kustomization"
        );
        let err = run_script("exit 3", Duration::from_secs(20)).unwrap_err();
        assert!(err.to_string().contains("exit status: 3"), "{err}");
    }

    #[test]
    fn timeout_kills_the_child_and_names_the_tool() {
        let start = Instant::now();
        let err = run_script("exec sleep 30", Duration::from_millis(300)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(
            err.to_string(),
            "kustomize timed out after 0.3s rendering apps/web"
        );
    }

    #[test]
    fn missing_binary_is_a_clear_error() {
        let err = find_bin(HELM, Some(Path::new("/nonexistent/helm"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "helm not found at /nonexistent/helm: install it or pass --helm-bin"
        );
    }
}
