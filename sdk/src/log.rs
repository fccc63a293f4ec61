//! Log lines to the host (`log` import).
//!
//! The functions take a `&str`; the macros at the crate root ([`error!`](crate::error!),
//! [`warn!`](crate::warn!), [`info!`](crate::info!), [`debug!`](crate::debug!),
//! [`trace!`](crate::trace!)) take `format!` arguments. Logging never fails: a line the host
//! refuses is dropped.

use core::fmt;

use crate::sys;

/// The longest message sent, in bytes (the host's default per-message cap); longer ones are cut
/// at a character boundary rather than refused whole.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// A log level, as the ABI numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Level {
    /// 0
    Error = 0,
    /// 1
    Warn = 1,
    /// 2
    Info = 2,
    /// 3
    Debug = 3,
    /// 4
    Trace = 4,
}

/// Sends `message` at `level`.
pub fn log(level: Level, message: &str) {
    let _ = sys::log(level as i32, cut(message, MAX_MESSAGE_BYTES).as_bytes());
}

/// Sends formatted arguments at `level` (what the macros call).
pub fn log_fmt(level: Level, args: fmt::Arguments<'_>) {
    match args.as_str() {
        Some(message) => log(level, message),
        None => log(level, &alloc::fmt::format(args)),
    }
}

/// `message` cut to at most `max` bytes at a character boundary.
pub(crate) fn cut(message: &str, max: usize) -> &str {
    if message.len() <= max {
        return message;
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// Logs at level 0 (error).
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Logs at level 1 (warn).
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at level 2 (info).
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at level 3 (debug).
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at level 4 (trace).
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_utf8() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("héllo", 3), "hé");
        assert_eq!(cut("abc", 10), "abc");
        // No host: logging is silently dropped.
        info("x");
        crate::info!("{} {}", 1, "two");
    }
}
