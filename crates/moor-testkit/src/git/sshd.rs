//! A real `sshd` on a loopback port, serving the bare repositories to one user and key.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(super) struct Sshd {
    child: Child,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) client_key: PathBuf,
    pub(super) known_hosts: PathBuf,
    pub(super) log: PathBuf,
}

impl Sshd {
    pub(super) fn start(dir: &Path) -> Sshd {
        fs::create_dir_all(dir).expect("create ssh dir");
        // Privilege separation dir; Debian's package normally creates it at boot.
        let _ = fs::create_dir_all("/run/sshd");
        let host_key = dir.join("ssh_host_ed25519_key");
        let client_key = dir.join("id_ed25519");
        keygen(&host_key);
        keygen(&client_key);
        let authorized = dir.join("authorized_keys");
        fs::copy(client_key.with_extension("pub"), &authorized).expect("write authorized_keys");
        let user = Command::new("whoami")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".to_string());
        let log = dir.join("sshd.log");
        let host_pub = fs::read_to_string(host_key.with_extension("pub")).expect("host pub key");
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();

        // The free port is probed and then released, so another process may grab it first:
        // retry with a fresh port when sshd exits early.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = free_port();
            let config = dir.join("sshd_config");
            fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                     PidFile {}\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                     PermitRootLogin prohibit-password\nAcceptEnv GIT_PROTOCOL\nLogLevel VERBOSE\n",
                    host_key.display(),
                    authorized.display(),
                    dir.join("sshd.pid").display()
                ),
            )
            .expect("write sshd_config");
            let log_file = fs::File::create(&log).expect("create sshd log");
            let mut child = Command::new("/usr/sbin/sshd")
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file))
                .spawn()
                .expect("start /usr/sbin/sshd (is openssh-server installed?)");
            match wait_for_port(&mut child, port) {
                Ok(()) => {
                    let known_hosts = dir.join("known_hosts");
                    fs::write(
                        &known_hosts,
                        format!("[127.0.0.1]:{port} {}\n", host_pub.join(" ")),
                    )
                    .expect("write known_hosts");
                    return Sshd {
                        child,
                        port,
                        user,
                        client_key,
                        known_hosts,
                        log,
                    };
                }
                Err(exited) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let text = fs::read_to_string(&log).unwrap_or_default();
                    if !exited || attempts >= 3 {
                        panic!("sshd did not start on port {port}:\n{text}");
                    }
                }
            }
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "moor-test", "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port()
}

/// Ok once the port accepts connections; Err(true) if sshd exited, Err(false) on timeout.
fn wait_for_port(child: &mut Child, port: u16) -> Result<(), bool> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Err(true);
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            // Someone else may own the port while our sshd is failing to bind it.
            std::thread::sleep(Duration::from_millis(100));
            return match child.try_wait() {
                Ok(Some(_)) => Err(true),
                _ => Ok(()),
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(false)
}
