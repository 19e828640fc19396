//! The raw relay ([`super::relay`]) as a child process: started from this
//! tool's own executable (`raw-relay-server`), its address read from the
//! first line it prints, killed when the handle is dropped (and by the
//! kernel should this process die first).

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running raw relay process.
pub struct RelayProcess {
    child: Child,
    addr: SocketAddr,
}

impl RelayProcess {
    /// Starts `exe raw-relay-server --listen 127.0.0.1:0 <extra>` and waits
    /// for the address it prints. `exe` is a `kairos-loadtest` binary
    /// (`std::env::current_exe()` from the tool itself).
    pub fn spawn(exe: &Path, extra: &[&str]) -> io::Result<Self> {
        let parent = std::process::id();
        let mut cmd = Command::new(exe);
        cmd.args(["raw-relay-server", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: prctl, getppid and _exit are async-signal-safe, as code
        // between fork and exec must be; nothing is allocated.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The parent died before the prctl took effect.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        let line = child.stdout.take().map(|out| {
            let mut line = String::new();
            BufReader::new(out.take(256))
                .read_line(&mut line)
                .map(|_| line)
        });
        let addr = match line {
            Some(Ok(l)) => l.trim().parse::<SocketAddr>().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("raw-relay-server printed {:?}, not an address", l.trim()),
                )
            }),
            Some(Err(e)) => Err(e),
            None => Err(io::Error::other("no stdout from raw-relay-server")),
        };
        match addr {
            Ok(addr) => Ok(Self { child, addr }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// The address the relay listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The relay's process id (for `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
