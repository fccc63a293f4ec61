//! A process back-end that runs host programs directly, with an empty environment and a deadline.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::{BackendError, ProcessOutput, ProcessRunner};

/// How often a running child is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// At most this many standard-output readers exist at once, per runner (see [`CommandRunner`]).
const MAX_READERS: usize = 32;
/// The stack size of a reader thread.
const READER_STACK: usize = 64 * 1024;

/// A [`ProcessRunner`] that runs host programs with [`std::process::Command`].
///
/// The program is run directly (never through a shell) by its canonical path, with `argv[0]`
/// passed on unchanged (on Unix), an empty environment, `/` as the working directory, no standard
/// input and standard error discarded. Standard output is read on a helper thread; bytes past the
/// caller's buffer are read and discarded, so the child never blocks on a full pipe.
///
/// A program whose canonical path lies under a directory given to
/// [`CommandRunner::refuse_under`] is [`BackendError::Denied`], as is a relative `argv[0]` and a
/// program file with more than one hard link (another link may sit in a directory a plugin can
/// write; some distributions install programs such as `perl` or `gunzip` as hard links: grant
/// a copy or a wrapper instead). Anything but a regular file is [`BackendError::Io`]. A
/// missing program is [`BackendError::NotFound`].
///
/// The program is checked by path and then run by path (Rust's `Command` cannot run an open
/// descriptor), so a process that can rename files in the program's directory could swap it
/// in between. No plugin can: programs under `refuse_under` directories are refused, and
/// [`DirFilesystem`](super::DirFilesystem) neither writes nor renames a hard-linked file. A program still running at the deadline is
/// killed and reported as [`BackendError::TimedOut`]; so is one whose standard output is still
/// held open at the deadline by a process it left behind (the runner cannot kill those, and the
/// helper thread lingers until they close it). The deadline is the runner's own or the `timeout`
/// the host passes (what is left of the invocation's [`Limits::blocking_time`](crate::Limits)),
/// whichever is shorter. At most 32 helper threads (running or lingering)
/// exist per runner and its clones; past that a run is [`BackendError::Limit`]. The exit status
/// is the program's exit code, or `-1` if a signal ended it.
#[derive(Clone, Debug)]
pub struct CommandRunner {
    deadline: Duration,
    refuse_under: Vec<PathBuf>,
    readers: Arc<AtomicUsize>,
}

impl CommandRunner {
    /// A runner with a 10 s deadline that refuses no directory.
    #[must_use]
    pub fn new() -> Self {
        CommandRunner {
            deadline: Duration::from_secs(10),
            refuse_under: Vec::new(),
            readers: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// This runner with `deadline` as the longest a program may run.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// This runner refusing programs under `dir` as well. Pass every directory a plugin can
    /// write to (such as a [`DirFilesystem`](super::DirFilesystem) root), so that it can never
    /// run a program it wrote. Symlinks are resolved before comparing.
    #[must_use]
    pub fn refuse_under(mut self, dir: impl Into<PathBuf>) -> Self {
        self.refuse_under.push(dir.into());
        self
    }

    /// The canonical path of `program`, or why it may not run.
    fn check_program(&self, program: &str) -> Result<PathBuf, BackendError> {
        if !Path::new(program).is_absolute() {
            return Err(BackendError::Denied);
        }
        let canonical = fs::canonicalize(program).map_err(|e| map_io(&e))?;
        let refused = self.refuse_under.iter().any(|dir| {
            let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            canonical.starts_with(dir)
        });
        if refused {
            return Err(BackendError::Denied);
        }
        // A stat (which opens nothing, so cannot block) of the file to be run: a regular file
        // that no other directory entry names. A hard link in a writable directory may name a
        // program elsewhere, and a program linked from a writable directory could be rewritten.
        let metadata = fs::metadata(&canonical).map_err(|e| map_io(&e))?;
        if !metadata.is_file() {
            return Err(BackendError::Io);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if metadata.nlink() > 1 {
                return Err(BackendError::Denied);
            }
        }
        Ok(canonical)
    }
}

impl Default for CommandRunner {
    fn default() -> Self {
        CommandRunner::new()
    }
}

/// Maps an I/O error of finding or starting a program.
fn map_io(error: &io::Error) -> BackendError {
    match error.kind() {
        io::ErrorKind::NotFound => BackendError::NotFound,
        _ => BackendError::Io,
    }
}

/// A child that is killed and reaped when dropped (a no-op once it has been waited for).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Killing an already reaped child does nothing; errors leave nothing more to do.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A reserved reader slot, released when dropped.
struct ReaderSlot(Arc<AtomicUsize>);

impl ReaderSlot {
    fn acquire(readers: &Arc<AtomicUsize>) -> Option<ReaderSlot> {
        let slot = ReaderSlot(Arc::clone(readers));
        // The increment is undone by `slot`'s drop if the limit is exceeded.
        (readers.fetch_add(1, Ordering::AcqRel) < MAX_READERS).then_some(slot)
    }
}

impl Drop for ReaderSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Reads `pipe` to its end, keeping the first `cap` bytes.
fn read_capped(mut pipe: impl Read, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                let take = room.min(n);
                if let Some(bytes) = chunk.get(..take) {
                    kept.extend_from_slice(bytes);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    kept
}

impl ProcessRunner for CommandRunner {
    fn run(
        &self,
        argv: &[&str],
        stdout: &mut [u8],
        timeout: Duration,
    ) -> Result<ProcessOutput, BackendError> {
        let (program, arguments) = argv.split_first().ok_or(BackendError::NotFound)?;
        let canonical = self.check_program(program)?;
        let slot = ReaderSlot::acquire(&self.readers).ok_or(BackendError::Limit)?;

        let mut command = Command::new(&canonical);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.arg0(program);
        }
        command
            .args(arguments)
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let start = Instant::now();
        let mut child = KillOnDrop(command.spawn().map_err(|e| map_io(&e))?);
        let pipe = child.0.stdout.take().ok_or(BackendError::Io)?;

        let cap = stdout.len();
        let (done, output) = mpsc::sync_channel(1);
        thread::Builder::new()
            .name("pluginhost-stdout".into())
            .stack_size(READER_STACK)
            .spawn(move || {
                let _slot = slot;
                // The receiver may be gone after a timeout; the output is then dropped.
                let _ = done.send(read_capped(pipe, cap));
            })
            .map_err(|_| BackendError::Io)?;

        let deadline = start.checked_add(self.deadline.min(timeout));
        let remaining = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let status = loop {
            match child.0.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => match remaining() {
                    Some(left) if left.is_zero() => return Err(BackendError::TimedOut),
                    Some(left) => thread::sleep(left.min(POLL_INTERVAL)),
                    None => thread::sleep(POLL_INTERVAL),
                },
                Err(_) => return Err(BackendError::Io),
            }
        };

        let captured = match remaining() {
            Some(left) => output.recv_timeout(left).map_err(|e| match e {
                mpsc::RecvTimeoutError::Timeout => BackendError::TimedOut,
                mpsc::RecvTimeoutError::Disconnected => BackendError::Io,
            })?,
            None => output.recv().map_err(|_| BackendError::Io)?,
        };
        let n = captured.len().min(stdout.len());
        if let (Some(to), Some(from)) = (stdout.get_mut(..n), captured.get(..n)) {
            to.copy_from_slice(from);
        }
        Ok(ProcessOutput {
            status: status.code().unwrap_or(-1),
            stdout_len: n,
        })
    }
}

#[cfg(all(test, unix))]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    fn run(
        runner: &CommandRunner,
        argv: &[&str],
        cap: usize,
    ) -> Result<(i32, Vec<u8>), BackendError> {
        let mut buf = std::vec![0u8; cap];
        let out = runner.run(argv, &mut buf, Duration::from_secs(3600))?;
        buf.truncate(out.stdout_len);
        Ok((out.status, buf))
    }

    #[test]
    fn echo_output_and_status() {
        let runner = CommandRunner::new();
        assert_eq!(
            run(&runner, &["/bin/echo", "hello"], 64).unwrap(),
            (0, b"hello\n".to_vec())
        );
    }

    #[test]
    fn exit_status_is_reported() {
        let runner = CommandRunner::new();
        assert_eq!(run(&runner, &["/bin/sh", "-c", "exit 3"], 64).unwrap().0, 3);
        // A signal gives -1.
        assert_eq!(
            run(&runner, &["/bin/sh", "-c", "kill -9 $$"], 64)
                .unwrap()
                .0,
            -1
        );
    }

    #[test]
    fn environment_is_empty() {
        let runner = CommandRunner::new();
        assert_eq!(
            run(&runner, &["/usr/bin/env"], 4096).unwrap(),
            (0, Vec::new())
        );
    }

    #[test]
    fn working_directory_is_root() {
        let runner = CommandRunner::new();
        assert_eq!(
            run(&runner, &["/bin/sh", "-c", "pwd"], 64).unwrap().1,
            b"/\n"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn argv0_is_passed_unchanged() {
        let runner = CommandRunner::new();
        let (_, out) = run(&runner, &["/bin/sh", "-c", "cat /proc/$$/cmdline"], 256).unwrap();
        assert!(out.starts_with(b"/bin/sh\0-c\0"), "{out:?}");
    }

    #[test]
    fn large_output_is_truncated_without_hanging() {
        let runner = CommandRunner::new().deadline(Duration::from_secs(5));
        let (status, out) =
            run(&runner, &["/usr/bin/head", "-c", "100000", "/dev/zero"], 16).unwrap();
        assert_eq!(status, 0);
        assert_eq!(out, [0u8; 16]);
        assert_eq!(
            run(&runner, &["/bin/echo", "hi"], 0).unwrap(),
            (0, Vec::new())
        );
    }

    #[test]
    fn endless_output_times_out() {
        let runner = CommandRunner::new().deadline(Duration::from_millis(200));
        let start = Instant::now();
        assert_eq!(
            run(&runner, &["/usr/bin/yes"], 16),
            Err(BackendError::TimedOut)
        );
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn deadline_kills_sleep() {
        let runner = CommandRunner::new().deadline(Duration::from_millis(200));
        let start = Instant::now();
        assert_eq!(
            run(&runner, &["/bin/sleep", "10"], 16),
            Err(BackendError::TimedOut)
        );
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(200));
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }

    #[test]
    fn the_callers_timeout_kills_sleep_before_the_runners_deadline() {
        let runner = CommandRunner::new().deadline(Duration::from_secs(3600));
        let mut buf = [0u8; 16];
        let start = Instant::now();
        assert_eq!(
            runner.run(
                &["/bin/sleep", "3600"],
                &mut buf,
                Duration::from_millis(200)
            ),
            Err(BackendError::TimedOut)
        );
        assert!(start.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn left_behind_process_holding_stdout_times_out() {
        let runner = CommandRunner::new().deadline(Duration::from_millis(300));
        let start = Instant::now();
        assert_eq!(
            run(&runner, &["/bin/sh", "-c", "/bin/sleep 2 & echo hi"], 16),
            Err(BackendError::TimedOut)
        );
        assert!(start.elapsed() < Duration::from_millis(1500));
    }

    #[test]
    fn missing_or_relative_program() {
        let runner = CommandRunner::new();
        assert_eq!(
            run(&runner, &["/nonexistent/program"], 16),
            Err(BackendError::NotFound)
        );
        assert_eq!(run(&runner, &["echo", "x"], 16), Err(BackendError::Denied));
        assert_eq!(run(&runner, &[], 16), Err(BackendError::NotFound));
    }

    #[test]
    fn programs_under_refused_directories_are_denied() {
        let writable = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let copy = writable.path().join("echo");
        fs::copy("/bin/echo", &copy).unwrap();
        let copy = copy.to_str().unwrap();
        // The copy runs when nothing is refused ...
        assert_eq!(
            run(&CommandRunner::new(), &[copy, "x"], 16).unwrap(),
            (0, b"x\n".to_vec())
        );
        // ... and is denied under a refused directory, also through a symlink from elsewhere.
        let runner = CommandRunner::new()
            .refuse_under("/nonexistent")
            .refuse_under(writable.path());
        assert_eq!(run(&runner, &[copy, "x"], 16), Err(BackendError::Denied));
        let link = elsewhere.path().join("link");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(writable.path().join("echo"), &link).unwrap();
            assert_eq!(
                run(&runner, &[link.to_str().unwrap(), "x"], 16),
                Err(BackendError::Denied)
            );
        }
        // Other programs still run.
        assert_eq!(
            run(&runner, &["/bin/echo", "ok"], 16).unwrap(),
            (0, b"ok\n".to_vec())
        );
    }

    #[test]
    fn hard_linked_programs_are_denied() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("echo");
        fs::copy("/bin/echo", &program).unwrap();
        let program_str = program.to_str().unwrap();
        let runner = CommandRunner::new();
        assert_eq!(
            run(&runner, &[program_str, "x"], 16).unwrap(),
            (0, b"x\n".to_vec())
        );
        // A second name anywhere makes it unrunnable, by either name.
        let second = dir.path().join("second");
        fs::hard_link(&program, &second).unwrap();
        assert_eq!(
            run(&runner, &[program_str, "x"], 16),
            Err(BackendError::Denied)
        );
        assert_eq!(
            run(&runner, &[second.to_str().unwrap(), "x"], 16),
            Err(BackendError::Denied)
        );
        fs::remove_file(&second).unwrap();
        assert_eq!(
            run(&runner, &[program_str, "x"], 16).unwrap(),
            (0, b"x\n".to_vec())
        );
        // A directory is not a program.
        assert_eq!(
            run(&runner, &[dir.path().to_str().unwrap()], 16),
            Err(BackendError::Io)
        );
    }

    #[test]
    fn reader_slots_are_released() {
        let runner = CommandRunner::new();
        for _ in 0..(MAX_READERS + 5) {
            run(&runner, &["/bin/echo"], 4).unwrap();
        }
        // Give the helper threads a moment to finish dropping their slots.
        let start = Instant::now();
        while runner.readers.load(Ordering::Acquire) != 0
            && start.elapsed() < Duration::from_secs(2)
        {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(runner.readers.load(Ordering::Acquire), 0);
    }
}
