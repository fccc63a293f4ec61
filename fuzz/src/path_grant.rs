//! `path_grant`: guest paths and path grants against the reference model, and `DirFilesystem`
//! against a real directory tree with symbolic links.
//!
//! Part 1 (pure): `GuestPath::parse` equals the model (same error, or the same components and
//! normal form); `starts_with`/`strip_prefix` equal the component-wise model for the path and
//! every prefix; `Grant::admit_path` returns the model's longest admitting prefix for every
//! capability; `Grant::is_writable_area` equals the model; building the grant accepts and
//! refuses exactly the prefixes the model does.
//!
//! Part 2 (disk): the path is admitted by the grant (as the host would check it), then handed to
//! a `DirFilesystem` whose root holds files, directories, non-ASCII names, and symbolic links
//! inside the scope, to a sibling of the scope, out of the root (relative and absolute), looping
//! and dangling; scopes include a symbolic link out of the root and one to a sibling. The tree
//! outside the root and inside it is snapshotted (without following links) before and after:
//! - every entry that changed (created, removed, modified) lies, physically, under the canonical
//!   directory of an admitting scope, and under the canonical root;
//! - a read or size that succeeds reports a file (every file has a unique size and contents) that
//!   lies physically under the canonical scope, and the bytes read are that file's;
//! - nothing changes on a failed operation or a read.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use pluginhost::{Capability, DirFilesystem, Filesystem, GuestPath};

use crate::common::{self, components};
use crate::models::grant::{self, Entry};
use crate::models::path;

/// Components paths are made of: names in the tree, links, `..`, `.`, empty, non-ASCII (NFC and
/// NFD spellings of the same name), NUL.
const PARTS: &[&str] = &[
    "data",
    "sub",
    "a.txt",
    "b.txt",
    "dätä.txt",
    "café",
    "cafe\u{301}",
    "link_in",
    "link_dir_in",
    "link_sibling",
    "link_sibling_file",
    "link_out_rel",
    "link_out_file",
    "link_abs",
    "link_abs_in",
    "loop",
    "dangling",
    "other",
    "o.txt",
    "escape",
    "alias",
    "r.txt",
    "new",
    "..",
    ".",
    "",
    "secret",
    "outside",
    "x\0y",
    "DATA",
];

/// Paths into the tree: files, directories, links (through them, to them, past them), scopes.
const KNOWN: &[&str] = &[
    "/",
    "/data",
    "/data/sub",
    "/other",
    "/alias",
    "/escape",
    "/loop",
    "/data/link_dir_in",
    "/data/link_sibling",
    "/data/link_out_rel",
    "/data/sub/up",
    "/data/a.txt",
    "/data/sub/b.txt",
    "/data/dätä.txt",
    "/data/café",
    "/data/cafe\u{301}",
    "/other/o.txt",
    "/r.txt",
    "/data/new",
    "/data/sub/new",
    "/data/link_in",
    "/data/link_abs",
    "/data/link_abs_in",
    "/data/link_out_file",
    "/data/link_sibling_file",
    "/data/loop",
    "/data/dangling",
    "/data/link_dir_in/b.txt",
    "/data/link_dir_in/new",
    "/data/link_sibling/o.txt",
    "/data/link_sibling/new",
    "/data/link_out_rel/secret",
    "/data/link_out_rel/new",
    "/data/link_out_rel/dir/deep",
    "/data/sub/up/a.txt",
    "/data/sub/up/new",
    "/alias/a.txt",
    "/alias/new",
    "/escape/secret",
    "/escape/new",
    "/other/back/a.txt",
    "/other/back/new",
    "/data/empty/new",
];

/// A path as bytes.
#[derive(Arbitrary, Debug, Clone)]
pub enum PathSpec {
    /// One of [`KNOWN`], optionally with one more component.
    Known(u8, Option<u8>),
    /// Components joined by `/`, with or without a leading and a trailing `/`.
    Parts(Vec<u8>, bool, bool),
    /// Raw bytes.
    Raw(Vec<u8>),
    /// Text.
    Text(String),
}

impl PathSpec {
    /// The bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            PathSpec::Known(i, more) => {
                let mut s = KNOWN[usize::from(*i) % KNOWN.len()].to_owned();
                if let Some(m) = more {
                    if !s.ends_with('/') {
                        s.push('/');
                    }
                    s.push_str(PARTS[usize::from(*m) % PARTS.len()]);
                }
                s.into_bytes()
            }
            PathSpec::Parts(parts, lead, trail) => {
                let parts: Vec<&str> = parts
                    .iter()
                    .take(12)
                    .map(|i| PARTS[usize::from(*i) % PARTS.len()])
                    .collect();
                let mut s = String::new();
                if *lead || parts.is_empty() {
                    s.push('/');
                }
                s.push_str(&parts.join("/"));
                if *trail {
                    s.push('/');
                }
                s.into_bytes()
            }
            PathSpec::Raw(b) => b.clone(),
            PathSpec::Text(t) => t.clone().into_bytes(),
        }
    }
}

/// A filesystem operation.
#[derive(Arbitrary, Debug)]
pub enum FsOp {
    /// `read` into a buffer of this many bytes (`% 256`).
    Read(u8),
    /// `size`.
    Size,
    /// `write` these bytes.
    Write(Vec<u8>),
    /// `rename` to this path.
    Rename(PathSpec),
}

/// Everything the fuzzer chooses.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// The path.
    pub path: PathSpec,
    /// Capabilities of `Grant::new` (low four bits).
    pub caps: u8,
    /// Prefixes: capability and path (first six used).
    pub prefixes: Vec<(u8, PathSpec)>,
    /// `dangerous_allow_any_path` for this capability.
    pub any_path: Option<u8>,
    /// An operation on the directory tree.
    pub op: Option<FsOp>,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let _ = outcome(data);
}

/// Runs one input and names the disk operation's outcome (`"write Ok"`, `"read Denied"`, ...),
/// if one ran. Used by the seed generator.
pub fn outcome(data: &[u8]) -> Option<String> {
    let mut u = Unstructured::new(data);
    let input = Input::arbitrary(&mut u).ok()?;
    run_input(&input)
}

fn run_input(input: &Input) -> Option<String> {
    let bytes = input.path.bytes();
    let parsed = GuestPath::parse(&bytes);
    let modelled = path::parse(&bytes);
    match (&parsed, &modelled) {
        (Ok(p), Ok(m)) => {
            assert_eq!(&components(p), m, "{bytes:?}");
            assert_eq!(p.as_str(), path::render(m), "{bytes:?}");
            assert_eq!(p.components().collect::<Vec<_>>(), *m, "{bytes:?}");
            assert_eq!(p.is_root(), m.is_empty());
        }
        (Err(e), Err(m)) => assert_eq!(e, m, "{bytes:?}: error"),
        _ => panic!("{bytes:?}: library {parsed:?}, model {modelled:?}"),
    }

    // The grant.
    let mut entries: Vec<Entry> = input
        .prefixes
        .iter()
        .take(6)
        .map(|(c, p)| {
            Entry::Prefix(
                common::cap(*c),
                String::from_utf8_lossy(&p.bytes()).into_owned(),
            )
        })
        .collect();
    if let Some(c) = input.any_path {
        entries.push(Entry::AnyPath(common::cap(c)));
    }
    let (grant, model) = grant::build(&common::caps(input.caps), &entries);

    let Ok(gp) = parsed else { return None };
    let comps = modelled.unwrap_or_default();

    // starts_with / strip_prefix against every prefix text (parsed).
    for (_, spec) in input.prefixes.iter().take(6) {
        let text = spec.bytes();
        if let (Ok(prefix), Ok(pm)) = (GuestPath::parse(&text), path::parse(&text)) {
            let expected = path::starts_with(&comps, &pm);
            assert_eq!(
                gp.starts_with(&prefix),
                expected,
                "{gp} starts_with {prefix}"
            );
            let rest = gp.strip_prefix(&prefix);
            assert_eq!(rest.is_some(), expected);
            if let Some(rest) = rest {
                assert_eq!(rest, comps[pm.len()..].join("/"), "{gp} - {prefix}");
            }
        }
    }
    for cap in Capability::ALL {
        let lib = grant.admit_path(cap, &gp).map(components);
        assert_eq!(
            lib.as_ref(),
            model.admit_path(cap, &comps),
            "admit_path {cap} {gp}"
        );
        if !cap.takes_paths() {
            assert!(lib.is_none(), "net.dial admitted a path");
        }
    }
    assert_eq!(
        grant.is_writable_area(&gp),
        model.writable_area(&comps),
        "is_writable_area {gp}"
    );

    disk(input.op.as_ref()?, &grant, &gp)
}

// ------------------------------------------------------------------------------------------
// The directory tree.
// ------------------------------------------------------------------------------------------

/// An entry of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    File(Vec<u8>),
    Dir,
    Link(PathBuf),
    Other,
}

type Snapshot = BTreeMap<PathBuf, Node>;

struct Tree {
    /// Canonical base directory (holds `root/` and `outside/`).
    base: PathBuf,
    fs: DirFilesystem,
    pristine: Snapshot,
}

fn snapshot(dir: &Path, rel: &Path, out: &mut Snapshot) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = rel.join(entry.file_name());
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let node = if meta.file_type().is_symlink() {
            Node::Link(fs::read_link(&path).unwrap_or_default())
        } else if meta.is_dir() {
            snapshot(&path, &rel, out);
            Node::Dir
        } else if meta.is_file() {
            Node::File(fs::read(&path).unwrap_or_default())
        } else {
            Node::Other
        };
        out.insert(rel, node);
    }
}

/// Every regular file gets unique contents of a unique length.
fn contents(rel: &str, index: usize) -> Vec<u8> {
    let mut v = format!("{rel}|").into_bytes();
    v.resize(40 + 3 * index, b'#');
    v
}

fn build(base: &Path) {
    let _ = fs::remove_dir_all(base.join("root"));
    let _ = fs::remove_dir_all(base.join("outside"));
    let root = base.join("root");
    let outside = base.join("outside");
    for d in ["root/data/sub", "root/other", "outside/dir"] {
        fs::create_dir_all(base.join(d)).expect("mkdir");
    }
    let files = [
        "outside/secret",
        "outside/dir/deep",
        "root/data/a.txt",
        "root/data/sub/b.txt",
        "root/data/dätä.txt",
        "root/data/café",
        "root/other/o.txt",
        "root/r.txt",
    ];
    for (i, f) in files.iter().enumerate() {
        fs::write(base.join(f), contents(f, i)).expect("write");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let links: [(&str, PathBuf); 14] = [
            ("root/data/link_in", "a.txt".into()),
            ("root/data/link_dir_in", "sub".into()),
            ("root/data/link_sibling", "../other".into()),
            ("root/data/link_sibling_file", "../other/o.txt".into()),
            ("root/data/link_out_rel", "../../outside".into()),
            ("root/data/link_out_file", "../../outside/secret".into()),
            ("root/data/link_abs", outside.join("secret")),
            ("root/data/link_abs_in", root.join("data/a.txt")),
            ("root/data/loop", "loop".into()),
            ("root/data/dangling", "nowhere".into()),
            ("root/escape", "../outside".into()),
            ("root/alias", "data".into()),
            ("root/other/back", "../data".into()),
            ("root/data/sub/up", "..".into()),
        ];
        for (at, to) in links {
            symlink(to, base.join(at)).expect("symlink");
        }
    }
}

fn tree() -> &'static Mutex<Tree> {
    static TREE: OnceLock<Mutex<Tree>> = OnceLock::new();
    TREE.get_or_init(|| {
        let tmp = std::env::temp_dir();
        clean_stale(&tmp);
        let base = tmp.join(format!("pluginhost-fuzz-path_grant-{}", std::process::id()));
        fs::create_dir_all(&base).expect("base");
        let base = fs::canonicalize(&base).expect("canonical base");
        build(&base);
        let mut pristine = Snapshot::new();
        snapshot(&base, Path::new(""), &mut pristine);
        let fs = DirFilesystem::open(base.join("root")).expect("open root");
        Mutex::new(Tree { base, fs, pristine })
    })
}

/// Removes trees left by earlier fuzzing processes that are gone.
fn clean_stale(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("pluginhost-fuzz-path_grant-") {
            if !Path::new("/proc").join(pid).exists() && Path::new("/proc/self").exists() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// The canonical directory of `scope` under the root, if it exists.
fn canonical_scope(base: &Path, scope: &GuestPath) -> Option<PathBuf> {
    let rel = scope.as_str().trim_start_matches('/');
    fs::canonicalize(base.join("root").join(rel)).ok()
}

fn disk(op: &FsOp, grant: &pluginhost::Grant, gp: &GuestPath) -> Option<String> {
    let cap = match op {
        FsOp::Read(_) | FsOp::Size => Capability::FsRead,
        FsOp::Write(_) | FsOp::Rename(_) => Capability::FsWrite,
    };
    let scope = grant.admit_path(cap, gp)?;
    let to = match op {
        FsOp::Rename(spec) => {
            let to = GuestPath::parse(&spec.bytes()).ok()?;
            let to_scope = grant.admit_path(Capability::FsWrite, &to)?;
            Some((to, to_scope.clone()))
        }
        _ => None,
    };
    let guard = tree().lock().unwrap_or_else(|e| e.into_inner());
    let base = guard.base.clone();
    let mut before = Snapshot::new();
    snapshot(&base, Path::new(""), &mut before);
    if before != guard.pristine {
        build(&base);
        before = Snapshot::new();
        snapshot(&base, Path::new(""), &mut before);
        assert_eq!(before, guard.pristine, "tree rebuild differs");
    }
    let canonical_root = base.join("root");
    let mut scopes = vec![canonical_scope(&base, scope)];
    let result = match op {
        FsOp::Read(n) => {
            let mut buf = vec![0u8; usize::from(*n)];
            let r = guard.fs.read(scope, gp, &mut buf);
            if let Ok(size) = r {
                let file = located(&before, size, &base);
                check_under(&file, &scopes, &canonical_root, "read");
                let data = match before.get(file.strip_prefix(&base).unwrap_or(&file)) {
                    Some(Node::File(d)) => d.clone(),
                    other => panic!("read {file:?}: {other:?}"),
                };
                let k = data.len().min(buf.len());
                assert_eq!(&buf[..k], &data[..k], "read {gp}: bytes");
            }
            r.map(|_| ())
        }
        FsOp::Size => {
            let r = guard.fs.size(scope, gp);
            if let Ok(size) = r {
                let file = located(&before, size, &base);
                check_under(&file, &scopes, &canonical_root, "size");
            }
            r.map(|_| ())
        }
        FsOp::Write(data) => guard.fs.write(scope, gp, &data[..data.len().min(256)]),
        FsOp::Rename(_) => {
            let (to, to_scope) = to.as_ref().expect("rename target");
            scopes.push(canonical_scope(&base, to_scope));
            guard.fs.rename(scope, gp, to_scope, to)
        }
    };
    let name = match op {
        FsOp::Read(_) => "read",
        FsOp::Size => "size",
        FsOp::Write(_) => "write",
        FsOp::Rename(_) => "rename",
    };
    common::note(|| format!("path_grant {name} scope={scope} -> {result:?}"));
    let mut after = Snapshot::new();
    snapshot(&base, Path::new(""), &mut after);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    if result.is_err() || matches!(op, FsOp::Read(_) | FsOp::Size) {
        assert!(
            changed.is_empty(),
            "{op:?} {gp} (scope {scope}) -> {result:?} changed {changed:?}"
        );
    }
    for rel in changed {
        check_under(&base.join(rel), &scopes, &canonical_root, "change");
    }
    Some(match result {
        Ok(()) => format!("{name} Ok"),
        Err(e) => format!("{name} {e:?}"),
    })
}

/// The file of the snapshot whose size is `size` (sizes are unique).
fn located(snap: &Snapshot, size: u64, base: &Path) -> PathBuf {
    let hits: Vec<&PathBuf> = snap
        .iter()
        .filter(|(_, n)| matches!(n, Node::File(d) if d.len() as u64 == size))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(hits.len(), 1, "a file of size {size}: {hits:?}");
    base.join(hits[0])
}

/// Panics unless `entry` (a physical path: no symbolic link among its ancestors) lies under the
/// canonical root and under one of `scopes`.
fn check_under(entry: &Path, scopes: &[Option<PathBuf>], root: &Path, what: &str) {
    assert!(
        entry.starts_with(root),
        "{what}: {entry:?} is outside the root {root:?}"
    );
    assert!(
        scopes.iter().flatten().any(|s| entry.starts_with(s)),
        "{what}: {entry:?} is outside the scope directories {scopes:?}"
    );
}
