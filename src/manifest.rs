//! A plugin's manifest as the host reads it: from the module's custom section, and against the
//! grant an operator gives it.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use pluginhost_proto::manifest::{Manifest, ManifestError};

use crate::capability::Capability;
use crate::grant::{DialTarget, Grant, GuestPath, HostPattern};
use crate::MANIFEST_SECTION;

/// The manifest section of a compiled module, if it has one.
pub(crate) fn manifest_of(module: &wasmi::Module) -> Option<Result<Manifest, ManifestError>> {
    let section = module
        .custom_sections()
        .find(|s| s.name() == MANIFEST_SECTION)?;
    Some(match core::str::from_utf8(section.data()) {
        Ok(text) => Manifest::parse(text),
        Err(_) => Err(ManifestError::Malformed { line: 1 }),
    })
}

/// A part of a grant that reaches beyond what the plugin's manifest asks for
/// ([`Grant::excess`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantExcess {
    /// The grant holds a capability the manifest does not ask for at all.
    Undeclared {
        /// The capability.
        capability: Capability,
        /// The granted scope as written in a spec (`/data`, `host:443`), or `None` when the
        /// capability is granted without a scope.
        scope: Option<String>,
    },
    /// A scope that no scope the manifest asks for (for the same capability) contains.
    Wider {
        /// The capability.
        capability: Capability,
        /// The granted scope.
        scope: String,
        /// What the manifest asks for this capability.
        asked: Vec<String>,
    },
    /// The capability was granted for every path or host (`dangerous_allow_any_*`).
    Unrestricted {
        /// The capability.
        capability: Capability,
    },
}

impl GrantExcess {
    /// The capability concerned.
    pub fn capability(&self) -> Capability {
        match self {
            GrantExcess::Undeclared { capability, .. }
            | GrantExcess::Wider { capability, .. }
            | GrantExcess::Unrestricted { capability } => *capability,
        }
    }
}

impl fmt::Display for GrantExcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantExcess::Undeclared {
                capability,
                scope: Some(scope),
            } => write!(
                f,
                "{capability}={scope}: the manifest does not ask for {capability}"
            ),
            GrantExcess::Undeclared {
                capability,
                scope: None,
            } => write!(f, "{capability}: the manifest does not ask for it"),
            GrantExcess::Wider {
                capability,
                scope,
                asked,
            } => {
                write!(
                    f,
                    "{capability}={scope} reaches beyond what the manifest asks ("
                )?;
                for (i, asked) in asked.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{capability}={asked}")?;
                }
                f.write_str(")")
            }
            GrantExcess::Unrestricted { capability } => {
                write!(f, "{capability} is granted for everything")
            }
        }
    }
}

/// Whether the manifest scope `asked` contains the granted path prefix `granted`.
fn path_covered(granted: &GuestPath, asked: &str) -> bool {
    GuestPath::parse_str(asked).is_ok_and(|asked| granted.starts_with(&asked))
}

/// Whether the manifest scope `asked` contains the granted `host:port` entry `granted`: the
/// same entry, or an exact host a wildcard request matches.
fn host_covered(granted: &HostPattern, asked: &str) -> bool {
    let Ok(asked) = HostPattern::parse(asked) else {
        return false;
    };
    if asked == *granted {
        return true;
    }
    // An exact entry is a single target: covered if the request admits it.
    granted.host().is_some_and(|host| {
        asked.matches(&DialTarget {
            host: host.clone(),
            port: granted.port(),
        })
    })
}

impl Grant {
    /// Every part of this grant that reaches beyond what `manifest` asks for: a capability it
    /// does not ask for, a scope no requested scope contains (a path prefix must lie under a
    /// requested prefix; a `host:port` entry must equal a requested one or be matched by a
    /// requested wildcard), or an unrestricted capability. Empty when the grant is the same as
    /// the manifest's requests or narrower.
    pub fn excess(&self, manifest: &Manifest) -> Vec<GrantExcess> {
        let mut out = Vec::new();
        for capability in self.capabilities().iter() {
            let asked: Vec<&str> = manifest.scopes(capability.name()).collect();
            if self.unrestricted().contains(capability) {
                out.push(GrantExcess::Unrestricted { capability });
                continue;
            }
            let scopes: Vec<String> = if capability.takes_paths() {
                self.path_prefixes(capability)
                    .iter()
                    .filter(|granted| !asked.iter().any(|a| path_covered(granted, a)))
                    .map(|p| p.as_str().to_string())
                    .collect()
            } else {
                self.hosts()
                    .iter()
                    .filter(|granted| !asked.iter().any(|a| host_covered(granted, a)))
                    .map(ToString::to_string)
                    .collect()
            };
            let has_scopes = if capability.takes_paths() {
                !self.path_prefixes(capability).is_empty()
            } else {
                !self.hosts().is_empty()
            };
            if asked.is_empty() {
                if has_scopes {
                    out.extend(scopes.into_iter().map(|scope| GrantExcess::Undeclared {
                        capability,
                        scope: Some(scope),
                    }));
                } else {
                    out.push(GrantExcess::Undeclared {
                        capability,
                        scope: None,
                    });
                }
                continue;
            }
            let asked: Vec<String> = asked.iter().map(|a| (*a).to_string()).collect();
            out.extend(scopes.into_iter().map(|scope| GrantExcess::Wider {
                capability,
                scope,
                asked: asked.clone(),
            }));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(grants: &str) -> Manifest {
        let text = alloc::format!("abi=1\nname=m\nversion=1\nkind=connector\n{grants}");
        Manifest::parse(&text).unwrap()
    }

    fn grant(specs: &[&str]) -> Grant {
        specs
            .iter()
            .fold(Grant::none(), |g, s| g.with_spec(s).unwrap())
    }

    #[test]
    fn same_or_narrower_is_covered() {
        let m = manifest("grant=fs.write=/certs\ngrant=net.dial=ca.example.com:443\n");
        assert!(grant(&["fs.write=/certs"]).excess(&m).is_empty());
        assert!(grant(&["fs.write=/certs/site.pem"]).excess(&m).is_empty());
        assert!(grant(&["net.dial=ca.example.com:443"])
            .excess(&m)
            .is_empty());
        assert!(grant(&["net.dial=CA.example.com:443"])
            .excess(&m)
            .is_empty());
        assert!(Grant::none().excess(&m).is_empty());
    }

    #[test]
    fn wider_and_undeclared_are_named() {
        let m = manifest("grant=fs.write=/certs\ngrant=net.dial=ca.example.com:443\n");
        let excess = grant(&[
            "fs.write=/",
            "fs.write=/certs",
            "fs.read=/etc",
            "net.dial=ca.example.com:80",
        ])
        .excess(&m);
        assert_eq!(
            excess,
            [
                GrantExcess::Undeclared {
                    capability: Capability::FsRead,
                    scope: Some("/etc".into())
                },
                GrantExcess::Wider {
                    capability: Capability::FsWrite,
                    scope: "/".into(),
                    asked: alloc::vec!["/certs".into()]
                },
                GrantExcess::Wider {
                    capability: Capability::NetDial,
                    scope: "ca.example.com:80".into(),
                    asked: alloc::vec!["ca.example.com:443".into()]
                },
            ]
        );
        assert_eq!(
            excess[1].to_string(),
            "fs.write=/ reaches beyond what the manifest asks (fs.write=/certs)"
        );
        assert_eq!(
            excess[0].to_string(),
            "fs.read=/etc: the manifest does not ask for fs.read"
        );
        // A wildcard grant is wider than an exact request.
        assert_eq!(grant(&["net.dial=*.example.com:443"]).excess(&m).len(), 1);
        let bare = Grant::new(&[Capability::ProcessExec]).excess(&m);
        assert_eq!(bare.len(), 1);
        assert_eq!(
            bare[0].to_string(),
            "process.exec: the manifest does not ask for it"
        );
        let any = Grant::none().dangerous_allow_any_host().excess(&m);
        assert_eq!(
            any,
            [GrantExcess::Unrestricted {
                capability: Capability::NetDial
            }]
        );
    }
}
