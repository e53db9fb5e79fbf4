//! Child processes that stop together, on a signal to this process alone: how
//! `cargo xtask demo` runs the build, the backend and `ingressroute serve`.
//!
//! ```text
//!  SIGINT, SIGTERM ──(signal-hook)──▶ stop_signals() ──▶ Receiver
//!                                                            │
//!  Supervisor ── spawn: each child in a process group of its own
//!      │ wait(): until a signal arrives or a child exits (seen with waitid(WNOWAIT),
//!      │         so the child stays unreaped and its group id stays reserved)
//!      ▼ stop(): SIGTERM to every child still running; after the grace, or once all
//!                have exited, SIGKILL to every group (what a child left behind, or a
//!                child that ignored SIGTERM); then reap
//! ```
//!
//! Each child has a group of its own so that this process decides when it stops: a
//! Ctrl-C reaches only the terminal's foreground group (this process), and a SIGTERM sent
//! to this process alone, as a service manager or `kill PID` sends it, is handled the
//! same way. A child's group is signalled only while the child is unreaped, so the group
//! id cannot have been reused by an unrelated process.

use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::os::unix::process::CommandExt as _;

/// How often [`Supervisor::wait`] and [`Supervisor::stop`] look at the children.
const POLL: Duration = Duration::from_millis(50);

/// SIGINT and SIGTERM, from now on delivered as messages instead of ending this process.
pub(crate) fn stop_signals() -> anyhow::Result<Receiver<Signal>> {
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("cannot listen for SIGINT and SIGTERM")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let signal = Signal::try_from(signal).unwrap_or(Signal::SIGTERM);
            if sender.send(signal).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}

/// Why [`Supervisor::wait`] returned.
#[derive(Debug)]
pub(crate) enum Ended {
    /// A stop signal arrived.
    Signal(Signal),
    /// A child exited by itself.
    Exited {
        /// Its name.
        name: String,
        /// How it ended, as `waitid` tells it; `None` when it cannot tell.
        status: Option<WaitStatus>,
    },
}

/// One child, the leader of its own process group.
#[derive(Debug)]
struct Member {
    name: String,
    child: Child,
    pid: Pid,
}

impl Member {
    /// `None` while the child runs; once it has ended, how (`None` inside when `waitid`
    /// cannot tell), without reaping it.
    fn ended(&self) -> Option<Option<WaitStatus>> {
        match waitid(
            Id::Pid(self.pid),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ) {
            Ok(WaitStatus::StillAlive) => None,
            Ok(status) => Some(Some(status)),
            // No such child to wait for: it has ended, one way or another.
            Err(_) => Some(None),
        }
    }
}

/// Children that stop together.
#[derive(Debug)]
pub(crate) struct Supervisor {
    members: Vec<Member>,
    grace: Duration,
}

impl Supervisor {
    /// No children yet; [`Supervisor::stop`] gives each `grace` to exit after SIGTERM.
    pub(crate) fn new(grace: Duration) -> Self {
        Self {
            members: Vec::new(),
            grace,
        }
    }

    /// Starts `command` as `name`, in a process group of its own.
    pub(crate) fn spawn(&mut self, name: &str, command: &mut Command) -> anyhow::Result<()> {
        let child = command
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let pid = Pid::from_raw(i32::try_from(child.id()).context("a process id out of range")?);
        self.members.push(Member {
            name: name.to_owned(),
            child,
            pid,
        });
        Ok(())
    }

    /// Blocks until a signal arrives on `signals` or a child exits; with no children,
    /// only a signal (or every sender gone) ends the wait.
    pub(crate) fn wait(&self, signals: &Receiver<Signal>) -> Ended {
        loop {
            match signals.recv_timeout(POLL) {
                Ok(signal) => return Ended::Signal(signal),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ended::Signal(Signal::SIGTERM),
            }
            if let Some((member, status)) = self.members.iter().find_map(|m| Some((m, m.ended()?))) {
                return Ended::Exited {
                    name: member.name.clone(),
                    status,
                };
            }
        }
    }

    /// Stops every child and whatever it started, and returns how each ended (in the
    /// order they were started): SIGTERM to each child still running, up to the grace
    /// for them to exit, then SIGKILL to every child's process group, then reaping.
    pub(crate) fn stop(mut self) -> Vec<(String, std::io::Result<ExitStatus>)> {
        for member in &self.members {
            if member.ended().is_none() {
                let _ = kill(member.pid, Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline && self.members.iter().any(|m| m.ended().is_none()) {
            std::thread::sleep(POLL);
        }
        for member in &self.members {
            // The leader is not reaped yet, so the group id is still this group's.
            let _ = killpg(member.pid, Signal::SIGKILL);
        }
        self.members
            .drain(..)
            .map(|mut member| (member.name, member.child.wait()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use std::path::{Path, PathBuf};

    use super::*;

    /// Whether `pid` is gone: no such process, or a zombie (it runs nothing and holds no
    /// port; its new parent reaps it when it does).
    fn gone(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        }
    }

    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            std::thread::sleep(POLL);
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-supervise-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A shell that starts `sleep 600` in the background, writes its pid to `pid_file`
    /// and waits; `prelude` runs first.
    fn stand_in(prelude: &str, pid_file: &Path) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("{prelude} sleep 600 & echo $! > \"$0\"; wait"))
            .arg(pid_file);
        command
    }

    fn read_pid(file: &Path) -> i32 {
        let mut pid = None;
        eventually("a stand-in to write its grandchild's pid", || {
            pid = std::fs::read_to_string(file).ok().and_then(|t| t.trim().parse().ok());
            pid.is_some()
        });
        pid.unwrap()
    }

    #[test]
    fn a_signal_to_this_process_alone_stops_every_child_and_what_it_started() {
        let signals = stop_signals().unwrap();
        let dir = scratch("signal");
        let mut supervisor = Supervisor::new(Duration::from_secs(1));
        // Stands in for the backend: dies on SIGTERM, leaving its own child behind.
        supervisor
            .spawn("backend", &mut stand_in("", &dir.join("backend")))
            .unwrap();
        // Stands in for a stuck `serve`: ignores SIGTERM (and so does its child).
        supervisor
            .spawn("serve", &mut stand_in("trap '' TERM;", &dir.join("serve")))
            .unwrap();
        let grandchildren = [read_pid(&dir.join("backend")), read_pid(&dir.join("serve"))];
        let children: Vec<i32> = supervisor.members.iter().map(|m| m.pid.as_raw()).collect();

        for signal in [Signal::SIGTERM, Signal::SIGINT] {
            // To this process only, as `kill PID` sends it; the children are in groups
            // of their own and do not see it.
            kill(Pid::this(), signal).unwrap();
            match supervisor.wait(&signals) {
                Ended::Signal(received) => assert_eq!(received, signal),
                other => panic!("{other:?}"),
            }
            assert!(children.iter().all(|pid| !gone(*pid)), "only this process got {signal}");
        }

        let statuses = supervisor.stop();
        assert_eq!(statuses.len(), 2);
        for (name, status) in &statuses {
            assert!(!status.as_ref().unwrap().success(), "{name}: {status:?}");
        }
        for pid in children.iter().chain(&grandchildren) {
            eventually(&format!("pid {pid} to be gone"), || gone(*pid));
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_child_that_exits_stops_the_others() {
        let dir = scratch("exit");
        let mut supervisor = Supervisor::new(Duration::from_secs(5));
        supervisor.spawn("long", &mut stand_in("", &dir.join("long"))).unwrap();
        supervisor
            .spawn("short", Command::new("sh").args(["-c", "exit 3"]))
            .unwrap();
        let grandchild = read_pid(&dir.join("long"));
        // No signal comes: the sender is kept but never used.
        let (_sender, never) = mpsc::channel::<Signal>();
        match supervisor.wait(&never) {
            Ended::Exited { name, status } => {
                assert_eq!(name, "short");
                assert!(matches!(status, Some(WaitStatus::Exited(_, 3))), "{status:?}");
            }
            other => panic!("{other:?}"),
        }
        let long = supervisor.members[0].pid.as_raw();
        let statuses = supervisor.stop();
        assert_eq!(statuses[1].1.as_ref().unwrap().code(), Some(3));
        assert_eq!(statuses[0].0, "long");
        for pid in [long, grandchild] {
            eventually(&format!("pid {pid} to be gone"), || gone(pid));
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
