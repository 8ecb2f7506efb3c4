//! One cold start of a function binary: spawned with a clean environment, given one event
//! through the runtime API stand-in, timed until its answer, and its peak resident memory
//! read from `/proc` before it is stopped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::runtime::{Answer, RuntimeApi};

/// What one invocation measured.
#[derive(Debug)]
pub struct Measured {
    /// From spawning the process to its answer to the first event.
    pub first_event: Duration,
    /// The process's peak resident set (`VmHWM`), in KiB.
    pub peak_kib: u64,
    /// CPU time the process used (user and system), up to its answer.
    pub cpu: Duration,
    /// The handler's response body.
    pub response: String,
}

/// A function binary and the environment every run of it gets.
pub struct Function<'a> {
    /// The binary.
    pub binary: PathBuf,
    /// Its name, also the log file's.
    pub name: &'a str,
    /// Variables besides the runtime API's address.
    pub env: &'a [(String, String)],
    /// Where its output goes.
    pub log_dir: &'a Path,
}

/// Stops the child however the measurement ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Function<'_> {
    /// Starts the binary, hands it `event` and waits at most `limit` for its answer.
    pub async fn invoke(&self, event: &Value, limit: Duration) -> Result<Measured, String> {
        let mut runtime = RuntimeApi::start(event, limit)
            .await
            .map_err(|e| format!("the runtime API stand-in cannot listen: {e}"))?;
        let log_path = self.log_dir.join(format!("{}.log", self.name));
        let log = File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let err_log = log
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;

        let started = Instant::now();
        let child = Command::new(&self.binary)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
            .env(
                "AWS_LAMBDA_FUNCTION_NAME",
                format!("mailbridge-bench-{}", self.name),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let running = Running(child);

        let answer = runtime.answer(limit).await;
        let first_event = started.elapsed();
        let peak_kib = peak_resident_kib(running.0.id());
        let cpu = cpu_time(running.0.id());
        drop(running);

        let tail = || log_tail(&log_path);
        match answer {
            Some(Answer::Response(response)) => Ok(Measured {
                first_event,
                peak_kib: peak_kib?,
                cpu: cpu?,
                response,
            }),
            Some(Answer::Error(error)) => Err(format!(
                "{} reported an error: {error}\n{}",
                self.name,
                tail()
            )),
            None => Err(format!(
                "{} gave no answer within {limit:?}\n{}",
                self.name,
                tail()
            )),
        }
    }
}

/// `VmHWM` of a live process: the most memory it has had resident.
fn peak_resident_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read the status of process {pid}: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("process {pid} reports no VmHWM"))
}

/// User and system CPU time of a live process, from `/proc/<pid>/stat` (fields 14 and 15,
/// in clock ticks of 1/100 s, which is what Linux reports to user space on every platform
/// Lambda runs).
fn cpu_time(pid: u32) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read the stat of process {pid}: {e}"))?;
    // The command name (field 2) may hold spaces; the fields after it follow its ')'.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("process {pid} has an unreadable stat line"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok(Duration::from_millis((user + system) * 10)),
        _ => Err(format!("process {pid} reports no CPU times")),
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(15);
    format!(
        "last lines of {}:\n{}",
        path.display(),
        lines[from..].join("\n")
    )
}
