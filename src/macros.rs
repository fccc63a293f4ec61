//! Logging shim: routes to `log`, to `defmt`, or to nothing.

#[cfg(all(feature = "log", feature = "defmt"))]
compile_error!("features `log` and `defmt` are mutually exclusive: enable one of them");

#[cfg(feature = "log")]
macro_rules! host_log {
    (error, $($arg:tt)*) => { ::log::error!(target: "pluginhost", $($arg)*) };
    (warn, $($arg:tt)*) => { ::log::warn!(target: "pluginhost", $($arg)*) };
    (info, $($arg:tt)*) => { ::log::info!(target: "pluginhost", $($arg)*) };
    (debug, $($arg:tt)*) => { ::log::debug!(target: "pluginhost", $($arg)*) };
    (trace, $($arg:tt)*) => { ::log::trace!(target: "pluginhost", $($arg)*) };
}

#[cfg(feature = "defmt")]
macro_rules! host_log {
    (error, $($arg:tt)*) => { ::defmt::error!($($arg)*) };
    (warn, $($arg:tt)*) => { ::defmt::warn!($($arg)*) };
    (info, $($arg:tt)*) => { ::defmt::info!($($arg)*) };
    (debug, $($arg:tt)*) => { ::defmt::debug!($($arg)*) };
    (trace, $($arg:tt)*) => { ::defmt::trace!($($arg)*) };
}

#[cfg(not(any(feature = "log", feature = "defmt")))]
macro_rules! host_log {
    ($level:ident, $($arg:tt)*) => {{
        // Type-check nothing, evaluate nothing: logging is compiled out.
    }};
}
