//! scripts/cluster itself: `up` twice is a no-op, `down` leaves no process behind, and a taken
//! port is one clear line and a non-zero exit.

use std::path::PathBuf;
use std::process::Command;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cluster")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(script())
        .args(args)
        .output()
        .expect("scripts/cluster runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn pids(name: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../.moor-state/clusters/{name}/pids"));
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .map(|s| s.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn up_twice_is_a_noop_down_stops_everything_and_a_taken_port_is_one_clear_line() {
    let name = "lifecycle";
    let (code, kubeconfig, err) = run(&["up", "--name", name, "--nodes", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        kubeconfig.trim().ends_with("clusters/lifecycle/kubeconfig"),
        "{kubeconfig}"
    );
    let first = pids(name);
    assert_eq!(
        first.len(),
        5,
        "etcd, apiserver, controller-manager, scheduler, kwok: {first:?}"
    );

    let (code, _, err) = run(&["up", "--name", name, "--nodes", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already running"), "{err}");
    assert_eq!(pids(name), first, "a second up restarted something");

    let (code, status, _) = run(&["status", "--name", name]);
    assert_eq!(code, 0);
    assert!(status.contains("TOTAL"), "{status}");

    // Another cluster on the same ports: refused with one line naming the port.
    let api_port = std::fs::read_to_string(kubeconfig.trim())
        .unwrap()
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("server: https://127.0.0.1:")
                .map(str::to_string)
        })
        .unwrap();
    let (code, _, _) = run(&["down", "--name", name]);
    assert_eq!(code, 0);
    for pid in &first {
        // Gone, or a zombie waiting for init to reap it: not running either way.
        let running = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|st| {
                    st.rsplit(')')
                        .next()
                        .is_some_and(|r| !r.trim_start().starts_with('Z'))
                })
                .unwrap_or(false)
        };
        assert!(!running(), "pid {pid} still runs after down");
    }
    let _hold = std::net::TcpListener::bind(format!("127.0.0.1:{api_port}")).unwrap();
    let (code, _, err) = run(&["up", "--name", name, "--nodes", "1"]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains(&format!("port {api_port}")) && err.contains("already taken"),
        "{err}"
    );
    let _ = run(&["down", "--name", name]);
}
