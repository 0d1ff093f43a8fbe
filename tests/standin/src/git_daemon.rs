//! [`GitDaemon`]: a loopback `git daemon` with receive-pack, the git server rebranch's tests,
//! benches and demo trials push to: the real protocol, with the server-side old-value check
//! and hooks (libgit2's local transport skips both).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `git daemon` serving every repository under a directory, stopped on drop.
pub struct GitDaemon {
    child: Child,
    pub port: u16,
}

impl GitDaemon {
    /// Serves `base` on an ephemeral port of 127.0.0.1, with no user or system git config.
    pub fn serve(base: &Path) -> std::io::Result<GitDaemon> {
        GitDaemon::serve_with(base, |cmd| {
            cmd.env("GIT_CONFIG_NOSYSTEM", "1").env("GIT_CONFIG_GLOBAL", "/dev/null");
        })
    }

    /// As [`GitDaemon::serve`], with the daemon's environment set by `env` instead.
    pub fn serve_with(base: &Path, env: impl FnOnce(&mut Command)) -> std::io::Result<GitDaemon> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut cmd = git_daemon_command();
        cmd.args([
            "--export-all",
            "--enable=receive-pack",
            "--reuseaddr",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            &format!("--base-path={}", base.display()),
        ])
        .arg(base)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        env(&mut cmd);
        let mut child = cmd.spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::other("git daemon did not start in 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(GitDaemon { child, port })
    }

    /// The `git://` URL of the repository `name` under the served directory.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `git-daemon` itself, not the `git daemon` wrapper: the wrapper runs it as a child and,
/// killed with SIGKILL (as `Child::kill` does), leaves that child serving forever.
pub fn git_daemon_command() -> Command {
    static EXEC_PATH: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let dir = EXEC_PATH.get_or_init(|| {
        let out = Command::new("git").arg("--exec-path").output().ok()?;
        let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        dir.join("git-daemon").is_file().then_some(dir)
    });
    match dir {
        Some(dir) => Command::new(dir.join("git-daemon")),
        None => {
            let mut cmd = Command::new("git");
            cmd.arg("daemon");
            cmd
        }
    }
}
