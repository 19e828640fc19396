//! Reading another process's memory and CPU use from `/proc` (Linux).

use std::io;

/// The resident set size (`VmRSS`) of process `pid`, in bytes.
pub fn vm_rss_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss(&status).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS line"))
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value * 1024),
        _ => None,
    }
}

/// The CPU time process `pid` has used so far, user plus system
/// (`utime` + `stime` of `/proc/<pid>/stat`), all threads included.
pub fn cpu_time(pid: u32) -> io::Result<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as u64 } else { 100 };
    parse_cpu_ticks(&stat)
        .map(|t| std::time::Duration::from_nanos(t.saturating_mul(1_000_000_000 / ticks)))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable /proc stat line"))
}

/// `utime + stime` in clock ticks from a `/proc/<pid>/stat` line. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted from the last `)`: the state is field 3, `utime` 14, `stime` 15.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Raises this process's open-file soft limit to its hard limit, so that
/// many sockets can be held; returns the resulting soft limit.
#[allow(clippy::unnecessary_cast)] // `rlim_t` is not `u64` on every target.
pub fn raise_nofile_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    Some(lim.rlim_cur as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_count_fields_after_the_command_name() {
        let line = "4242 (kairos (shard) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    1234 567 0 0 20 0 3 0 100 1000000 500 18446744073709551615";
        assert_eq!(parse_cpu_ticks(line), Some(1234 + 567));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert_eq!(parse_cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn own_cpu_time_is_readable() {
        let t = cpu_time(std::process::id()).unwrap();
        assert!(t < std::time::Duration::from_secs(1_000_000));
    }

    #[test]
    fn parses_status() {
        let s = "Name:\tkairos\nVmPeak:\t  200 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(s), Some(12345 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn reads_own_rss() {
        assert!(vm_rss_bytes(std::process::id()).unwrap() > 0);
        assert!(raise_nofile_limit().unwrap() > 0);
    }
}
