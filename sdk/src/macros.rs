//! `entry!`, `manifest!` and the log macros.

/// Exports the plugin's entry point, `run: () -> i32`, calling `handler`.
///
/// `handler` is a `fn() -> Result<(), pluginhost_sdk::Error>`; `run` returns 0 for `Ok` and the
/// error's non-zero [`exit_code`](crate::Error::exit_code) for `Err`. The function is exported
/// under the name `run` on wasm32 only; elsewhere it is a plain `pub fn run` (for tests).
///
/// ```ignore
/// pluginhost_sdk::entry!(handler);
/// fn handler() -> Result<(), pluginhost_sdk::Error> { Ok(()) }
/// ```
#[macro_export]
macro_rules! entry {
    ($handler:path) => {
        /// The plugin's entry point (`run` of guest ABI v1): 0 on success.
        #[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
        pub extern "C" fn run() -> i32 {
            $crate::__private::run($handler)
        }
    };
}

/// Embeds the plugin's manifest in the custom section `pluginhost.manifest`.
///
/// The text is assembled at compile time with `concat!` and checked at compile time with
/// [`validate`](crate::proto::manifest::validate): an invalid manifest does not build. It is also
/// available as `pub const MANIFEST_TEXT: &str` in the invoking module.
///
/// ```ignore
/// pluginhost_sdk::manifest! {
///     abi: 2,                          // optional: 1 unless the plugin uses ABI v2 calls or keys
///     name: "connector-file-deploy",
///     version: env!("CARGO_PKG_VERSION"),
///     kind: connector,                 // ca | connector | dns | other
///     protocol: deploy,                // optional, needs abi: 2; see below
///     grants: [
///         "fs.write" => "/certs",
///     ],
/// }
/// ```
///
/// `name` and each capability and scope are string literals; `version` is a string literal or a
/// macro that expands to one (`env!`); `grants` may be left out. `abi` is the guest ABI version
/// the plugin needs: leave it out (1) unless it calls [`random`](crate::random) or
/// [`time`](crate::time), or declares a `protocol`, which need 2. A host older than `abi` refuses
/// to load the plugin.
///
/// `protocol` is the message pair the plugin answers, so hosts and `pluginhost run --request`
/// need not guess it from the kind: `issue` or `acme` (kind `ca`), `deploy` or `reload` (kind
/// `connector`), `publish-txt` or `update-txt` (kind `dns`). A protocol of another kind, or one
/// without `abi: 2`, does not build:
///
/// ```
/// pluginhost_sdk::manifest! { abi: 2, name: "x", version: "1", kind: dns, protocol: update-txt }
/// assert!(MANIFEST_TEXT.ends_with("kind=dns\nprotocol=update-txt\n"));
/// ```
///
/// ```compile_fail
/// // `protocol` needs `abi: 2`: hosts of ABI 1 refuse the key.
/// pluginhost_sdk::manifest! { name: "x", version: "1", kind: connector, protocol: reload }
/// ```
///
/// ```compile_fail
/// // `reload` is a connector's protocol.
/// pluginhost_sdk::manifest! { abi: 2, name: "x", version: "1", kind: dns, protocol: reload }
/// ```
#[macro_export]
macro_rules! manifest {
    (
        name: $name:literal,
        version: $version:expr,
        kind: $kind:ident
        $(, protocol: $protocol:ident $(- $protocol_rest:ident)* )?
        $(, grants: [ $( $capability:literal => $scope:literal ),* $(,)? ] )?
        $(,)?
    ) => {
        $crate::manifest! {
            abi: 1,
            name: $name,
            version: $version,
            kind: $kind
            $(, protocol: $protocol $(- $protocol_rest)* )?
            $(, grants: [ $( $capability => $scope ),* ] )?
        }
    };
    (
        abi: $abi:literal,
        name: $name:literal,
        version: $version:expr,
        kind: $kind:ident
        $(, protocol: $protocol:ident $(- $protocol_rest:ident)* )?
        $(, grants: [ $( $capability:literal => $scope:literal ),* $(,)? ] )?
        $(,)?
    ) => {
        /// This plugin's manifest text, as embedded in the `pluginhost.manifest` custom section.
        pub const MANIFEST_TEXT: &str = concat!(
            "abi=", stringify!($abi), "\n",
            "name=", $name, "\n",
            "version=", $version, "\n",
            "kind=", stringify!($kind), "\n",
            $( "protocol=", stringify!($protocol), $( "-", stringify!($protocol_rest), )* "\n", )?
            $($( "grant=", $capability, "=", $scope, "\n", )*)?
        );

        const _: () = $crate::__private::assert_manifest(MANIFEST_TEXT);

        // rustc turns a `link_section` static on wasm into a custom section and keeps it even
        // though nothing refers to it; `#[used]` would only add a second copy in the data segment.
        #[allow(dead_code)]
        #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "pluginhost.manifest"))]
        static PLUGINHOST_MANIFEST: [u8; MANIFEST_TEXT.len()] =
            $crate::__private::manifest_bytes::<{ MANIFEST_TEXT.len() }>(MANIFEST_TEXT);
    };
}

/// Logs `format!` arguments at level 0 (error).
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::log::Level::Error, ::core::format_args!($($arg)+))
    };
}

/// Logs `format!` arguments at level 1 (warn).
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::log::Level::Warn, ::core::format_args!($($arg)+))
    };
}

/// Logs `format!` arguments at level 2 (info).
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::log::Level::Info, ::core::format_args!($($arg)+))
    };
}

/// Logs `format!` arguments at level 3 (debug).
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::log::Level::Debug, ::core::format_args!($($arg)+))
    };
}

/// Logs `format!` arguments at level 4 (trace).
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {
        $crate::log::log_fmt($crate::log::Level::Trace, ::core::format_args!($($arg)+))
    };
}

#[cfg(test)]
mod tests {
    mod sample {
        crate::manifest! {
            name: "sample",
            version: env!("CARGO_PKG_VERSION"),
            kind: dns,
            grants: ["fs.read" => "/zones", "fs.write" => "/zones"],
        }
    }

    mod bare {
        crate::manifest! { name: "bare", version: "1", kind: other }
    }

    mod v2 {
        crate::manifest! {
            abi: 2,
            name: "v2",
            version: "1",
            kind: ca,
            grants: ["net.dial" => "ca.example:443"],
        }
    }

    mod reload {
        crate::manifest! {
            abi: 2,
            name: "reload",
            version: "1",
            kind: connector,
            protocol: reload,
            grants: ["process.exec" => "/usr/sbin/nginx"],
        }
    }

    mod hyphenated {
        crate::manifest! { abi: 2, name: "txt", version: "1", kind: dns, protocol: update-txt }
    }

    fn ok() -> Result<(), crate::Error> {
        Ok(())
    }

    fn fails() -> Result<(), crate::Error> {
        Err(crate::Error::Denied)
    }

    mod entry_ok {
        crate::entry!(super::ok);
    }

    #[test]
    fn manifest_text() {
        assert_eq!(
            sample::MANIFEST_TEXT,
            concat!(
                "abi=1\nname=sample\nversion=",
                env!("CARGO_PKG_VERSION"),
                "\nkind=dns\ngrant=fs.read=/zones\ngrant=fs.write=/zones\n"
            )
        );
        assert_eq!(
            bare::MANIFEST_TEXT,
            "abi=1\nname=bare\nversion=1\nkind=other\n"
        );
        let m = crate::proto::Manifest::parse(sample::MANIFEST_TEXT).expect("valid");
        assert_eq!(m.kind, crate::proto::PluginKind::DnsProvider);
        assert_eq!(m.abi, 1);
        assert_eq!(
            v2::MANIFEST_TEXT,
            "abi=2\nname=v2\nversion=1\nkind=ca\ngrant=net.dial=ca.example:443\n"
        );
        let m = crate::proto::Manifest::parse(v2::MANIFEST_TEXT).expect("valid");
        assert_eq!(m.abi, 2);
        assert_eq!(m.protocol, None);
    }

    #[test]
    fn manifest_protocol() {
        assert_eq!(
            reload::MANIFEST_TEXT,
            "abi=2\nname=reload\nversion=1\nkind=connector\nprotocol=reload\n\
             grant=process.exec=/usr/sbin/nginx\n"
        );
        assert_eq!(
            hyphenated::MANIFEST_TEXT,
            "abi=2\nname=txt\nversion=1\nkind=dns\nprotocol=update-txt\n"
        );
        let m = crate::proto::Manifest::parse(hyphenated::MANIFEST_TEXT).expect("valid");
        assert_eq!(m.protocol, Some(crate::proto::Protocol::UpdateTxt));
    }

    #[test]
    fn entry_codes() {
        assert_eq!(entry_ok::run(), 0);
        assert_eq!(crate::__private::run(fails), -1);
    }
}
