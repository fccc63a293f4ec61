//! A filesystem back-end on a host directory, resolving every path beneath its grant scope.

use std::io::{self, Read, Write};
use std::path::Path;

use cap_std::fs::{Dir, File, Metadata, OpenOptions};

use super::{BackendError, Filesystem};
use crate::grant::GuestPath;

/// A [`Filesystem`] whose guest `/` is a host directory.
///
/// Every request first opens its grant `scope` beneath the root one component at a time,
/// refusing any component that is a symbolic link, then resolves the path relative to that scope
/// directory with [`cap_std`], which refuses any `..`, absolute symlink or relative symlink that
/// would lead outside it ([`BackendError::Denied`]). So a symlink inside a scope reaches neither
/// outside the root nor a sibling of the scope, and a link renamed onto a prefix is never
/// followed.
///
/// A scope may also name one file (a single-file grant such as `/certs/site.pem`): a request
/// for exactly that path opens the scope's parent directory the same way and uses the file in
/// it, refusing it if it is a symbolic link ([`BackendError::Denied`]).
///
/// Only regular files are read, sized or overwritten; a directory, FIFO, socket or device is
/// [`BackendError::Io`]. Files are opened without blocking (`O_NONBLOCK`, and `O_NOCTTY`) and
/// checked on the opened descriptor, so a FIFO or device renamed onto the path at any moment is
/// refused, never waited on. Parent directories are never created.
///
/// **Hard links.** A hard link cannot be told apart from the file it names, which may lie outside
/// the root. So a file with more than one link is [`BackendError::Denied`]: never written
/// (checked on the opened descriptor before anything is truncated), never read or sized unless
/// the embedder calls [`DirFilesystem::dangerously_allow_reading_hard_linked_files`], and never
/// renamed away (checked by path just before the rename, which has no descriptor form). A
/// directory renamed whole is not searched for links inside it; each is refused when opened.
///
/// Errors: a missing file or parent is [`BackendError::NotFound`]; an escape attempt, a hard
/// link or a host permission error is [`BackendError::Denied`]; anything else is
/// [`BackendError::Io`].
#[derive(Debug)]
pub struct DirFilesystem {
    root: Dir,
    read_hard_linked_files: bool,
}

impl DirFilesystem {
    /// Opens the host directory `root` as guest `/`.
    ///
    /// # Errors
    /// The I/O error of opening `root` (for instance when it is missing or not a directory).
    pub fn open(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
        Ok(DirFilesystem {
            root,
            read_hard_linked_files: false,
        })
    }

    /// **Dangerous**: this filesystem also reads (and sizes) files with more than one hard link.
    ///
    /// A hard link under the root may name any file on the same host filesystem, such as a key
    /// outside the root, and nothing about the link says so. Call this only if no one who could
    /// make such a link (any process with write access to a directory under the root) is
    /// untrusted. Writing through a hard link stays refused whatever this says.
    #[must_use]
    pub fn dangerously_allow_reading_hard_linked_files(mut self) -> Self {
        self.read_hard_linked_files = true;
        self
    }

    /// Runs `f` on the directory named by `components`, opened beneath the root one component
    /// at a time without following links.
    fn in_dir<'a, R>(
        &self,
        components: impl Iterator<Item = &'a str>,
        f: impl FnOnce(&Dir) -> Result<R, BackendError>,
    ) -> Result<R, BackendError> {
        let mut dir: Option<Dir> = None;
        for component in components {
            let parent = dir.as_ref().unwrap_or(&self.root);
            let next = open_dir_nofollow(parent, component)?;
            dir = Some(next);
        }
        match dir {
            Some(dir) => f(&dir),
            None => f(&self.root),
        }
    }

    /// Runs `f` on the directory `path` is resolved in and its name relative to it: the scope
    /// directory and the rest of the path, or, when `path` is the scope itself (a single-file
    /// grant), the scope's parent directory and its last component, which must not be a link.
    fn resolve<R>(
        &self,
        scope: &GuestPath,
        path: &GuestPath,
        f: impl FnOnce(&Dir, &str) -> Result<R, BackendError>,
    ) -> Result<R, BackendError> {
        match path.strip_prefix(scope) {
            Some(rel) if !rel.is_empty() => self.in_dir(scope.components(), |dir| f(dir, rel)),
            Some(_) => {
                // `/` is never a file.
                let (parent, name) = scope
                    .as_str()
                    .rsplit_once('/')
                    .filter(|(_, name)| !name.is_empty())
                    .ok_or(BackendError::Denied)?;
                let parents = parent.split('/').filter(|c| !c.is_empty());
                self.in_dir(parents, |dir| {
                    match dir.symlink_metadata(name) {
                        Ok(meta) if meta.file_type().is_symlink() => {
                            return Err(BackendError::Denied)
                        }
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(map_io(e)),
                    }
                    f(dir, name)
                })
            }
            // A path outside its scope is a caller bug: refused.
            None => Err(BackendError::Denied),
        }
    }
}

/// Opens the directory `name` in `parent` without following a symbolic link: a link (even one
/// that stays inside the root) is [`BackendError::Denied`], so a plugin that renames a link onto
/// a granted prefix cannot redirect that prefix. The directory opened is checked to be the one
/// inspected (same device and inode), so swapping a link in between is refused too.
fn open_dir_nofollow(parent: &Dir, name: &str) -> Result<Dir, BackendError> {
    let inspected = parent.symlink_metadata(name).map_err(map_io)?;
    if inspected.file_type().is_symlink() {
        return Err(BackendError::Denied);
    }
    if !inspected.is_dir() {
        return Err(BackendError::NotFound);
    }
    let dir = parent.open_dir(name).map_err(map_io)?;
    if !same_file(&inspected, &dir.dir_metadata().map_err(map_io)?) {
        return Err(BackendError::Denied);
    }
    Ok(dir)
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use cap_std::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    // Without inode numbers, fall back to the type and times of the two.
    a.is_dir() == b.is_dir() && a.modified().ok() == b.modified().ok()
}

/// How many directory entries name the file.
#[cfg(unix)]
fn link_count(metadata: &Metadata) -> u64 {
    use cap_std::fs::MetadataExt;
    metadata.nlink()
}

/// Without link counts in the portable API, every file counts as linked once.
#[cfg(not(unix))]
fn link_count(_: &Metadata) -> u64 {
    1
}

/// Maps a host I/O error: cap-std reports escape attempts as `PermissionDenied`.
fn map_io(error: io::Error) -> BackendError {
    match error.kind() {
        io::ErrorKind::NotFound => BackendError::NotFound,
        io::ErrorKind::PermissionDenied => BackendError::Denied,
        _ => BackendError::Io,
    }
}

/// Refuses anything but a regular file ([`BackendError::Io`]), and a file with more than one
/// hard link unless `hard_links_allowed` ([`BackendError::Denied`]).
fn usable_file(metadata: &Metadata, hard_links_allowed: bool) -> Result<(), BackendError> {
    if !metadata.is_file() {
        return Err(BackendError::Io);
    }
    if link_count(metadata) > 1 && !hard_links_allowed {
        return Err(BackendError::Denied);
    }
    Ok(())
}

/// Whether a file is opened to read it or to write it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    /// Created if missing; never truncated by the open itself (only once the opened file has
    /// been checked).
    Write,
}

/// Opens `rel` in `dir` without waiting: with `O_NONBLOCK`, opening a FIFO or device that a
/// concurrent rename put at the path returns at once (and is then refused by [`usable_file`] on
/// the descriptor, or fails with `ENXIO` for a FIFO without a reader); `O_NOCTTY` keeps a
/// terminal from becoming the host's controlling terminal. Reads and writes of a regular file
/// ignore `O_NONBLOCK`.
fn open_nonblocking(dir: &Dir, rel: &str, access: Access) -> Result<File, BackendError> {
    let mut options = OpenOptions::new();
    match access {
        Access::Read => options.read(true),
        Access::Write => options.write(true).create(true),
    };
    #[cfg(unix)]
    {
        use cap_std::fs::OpenOptionsExt;
        use rustix::fs::OFlags;
        options.custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY).bits().cast_signed());
    }
    dir.open_with(rel, &options).map_err(map_io)
}

impl Filesystem for DirFilesystem {
    fn read(
        &self,
        scope: &GuestPath,
        path: &GuestPath,
        dst: &mut [u8],
    ) -> Result<u64, BackendError> {
        let hard_links = self.read_hard_linked_files;
        self.resolve(scope, path, |dir, rel| {
            // A first look by path, so that a FIFO or device there is normally never opened at
            // all (opening one can wake a process waiting on it) ...
            usable_file(&dir.metadata(rel).map_err(map_io)?, hard_links)?;
            // ... and the check that counts, on what was opened: the path may have been
            // swapped in between.
            let mut file = open_nonblocking(dir, rel, Access::Read)?;
            let metadata = file.metadata().map_err(map_io)?;
            usable_file(&metadata, hard_links)?;
            let mut filled = 0;
            while let Some(rest) = dst.get_mut(filled..).filter(|rest| !rest.is_empty()) {
                match file.read(rest) {
                    Ok(0) => break,
                    Ok(n) => filled = filled.saturating_add(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(map_io(e)),
                }
            }
            Ok(metadata.len())
        })
    }

    fn size(&self, scope: &GuestPath, path: &GuestPath) -> Result<u64, BackendError> {
        self.resolve(scope, path, |dir, rel| {
            // A stat opens nothing, so it cannot block; its answer is the result.
            let metadata = dir.metadata(rel).map_err(map_io)?;
            usable_file(&metadata, self.read_hard_linked_files)?;
            Ok(metadata.len())
        })
    }

    fn write(&self, scope: &GuestPath, path: &GuestPath, data: &[u8]) -> Result<(), BackendError> {
        self.resolve(scope, path, |dir, rel| {
            // A first look by path (see `read`); a missing file is created below.
            match dir.metadata(rel) {
                Ok(metadata) => usable_file(&metadata, false)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(map_io(e)),
            }
            let mut file = open_nonblocking(dir, rel, Access::Write)?;
            // Only a regular file linked from nowhere else is truncated and written.
            usable_file(&file.metadata().map_err(map_io)?, false)?;
            file.set_len(0).map_err(map_io)?;
            file.write_all(data).map_err(map_io)
        })
    }

    fn rename(
        &self,
        from_scope: &GuestPath,
        from: &GuestPath,
        to_scope: &GuestPath,
        to: &GuestPath,
    ) -> Result<(), BackendError> {
        self.resolve(from_scope, from, |from_dir, from_rel| {
            self.resolve(to_scope, to, |to_dir, to_rel| {
                // A hard link is not moved either: renamed into a place another program serves
                // or reads, it would hand over the file it names. (By path: rename has no
                // descriptor form; the window is only open to whoever can make links here.)
                let source = from_dir.symlink_metadata(from_rel).map_err(map_io)?;
                if source.is_file() && link_count(&source) > 1 {
                    return Err(BackendError::Denied);
                }
                from_dir.rename(from_rel, to_dir, to_rel).map_err(map_io)
            })
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
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    fn p(s: &str) -> GuestPath {
        GuestPath::parse_str(s).unwrap()
    }

    /// A temporary layout: `outside/secret`, `root/data/a.txt`, `root/other/sibling.txt`.
    struct Fixture {
        _tmp: tempfile::TempDir,
        outside: PathBuf,
        root: PathBuf,
        fs: DirFilesystem,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        let root = tmp.path().join("root");
        fs::create_dir_all(&outside).unwrap();
        fs::create_dir_all(root.join("data")).unwrap();
        fs::create_dir_all(root.join("other")).unwrap();
        fs::write(outside.join("secret"), b"secret").unwrap();
        fs::write(root.join("data/a.txt"), b"hello world").unwrap();
        fs::write(root.join("other/sibling.txt"), b"sibling").unwrap();
        let fs = DirFilesystem::open(&root).unwrap();
        Fixture {
            _tmp: tmp,
            outside,
            root,
            fs,
        }
    }

    #[test]
    fn read_write_size_in_scope() {
        let f = fixture();
        let data = p("/data");
        let mut buf = [0u8; 64];
        let n = f.fs.read(&data, &p("/data/a.txt"), &mut buf).unwrap();
        assert_eq!(n, 11);
        assert_eq!(&buf[..11], b"hello world");
        assert_eq!(f.fs.size(&data, &p("/data/a.txt")).unwrap(), 11);
        f.fs.write(&data, &p("/data/b.txt"), b"new").unwrap();
        assert_eq!(fs::read(f.root.join("data/b.txt")).unwrap(), b"new");
        f.fs.write(&data, &p("/data/b.txt"), b"x").unwrap();
        assert_eq!(fs::read(f.root.join("data/b.txt")).unwrap(), b"x");
        // The root scope works too.
        assert_eq!(f.fs.size(&p("/"), &p("/other/sibling.txt")).unwrap(), 7);
    }

    #[test]
    fn read_truncates_and_returns_full_size() {
        let f = fixture();
        let mut buf = [0u8; 5];
        let n = f.fs.read(&p("/data"), &p("/data/a.txt"), &mut buf).unwrap();
        assert_eq!(n, 11);
        assert_eq!(&buf, b"hello");
        assert_eq!(
            f.fs.read(&p("/data"), &p("/data/a.txt"), &mut []).unwrap(),
            11
        );
    }

    #[test]
    fn missing_file_or_parent_is_not_found() {
        let f = fixture();
        let data = p("/data");
        let mut buf = [0u8; 4];
        assert_eq!(
            f.fs.read(&data, &p("/data/nope"), &mut buf),
            Err(BackendError::NotFound)
        );
        assert_eq!(
            f.fs.size(&data, &p("/data/nope")),
            Err(BackendError::NotFound)
        );
        assert_eq!(
            f.fs.write(&data, &p("/data/no/dir"), b"x"),
            Err(BackendError::NotFound)
        );
        assert!(!f.root.join("data/no").exists());
        // A missing scope directory is not found either.
        assert_eq!(
            f.fs.write(&p("/gone"), &p("/gone/x"), b"x"),
            Err(BackendError::NotFound)
        );
    }

    #[test]
    fn scope_itself_and_directories_are_refused() {
        let f = fixture();
        let data = p("/data");
        let mut buf = [0u8; 4];
        // A directory scope named as a file is a directory: not a file.
        assert_eq!(f.fs.read(&data, &data, &mut buf), Err(BackendError::Io));
        assert_eq!(f.fs.write(&data, &data, b"x"), Err(BackendError::Io));
        assert_eq!(f.fs.size(&data, &data), Err(BackendError::Io));
        assert!(f.fs.rename(&data, &p("/data/a.txt"), &data, &data).is_err());
        assert!(f.root.join("data/a.txt").is_file());
        // The root is never a file.
        assert_eq!(f.fs.size(&p("/"), &p("/")), Err(BackendError::Denied));
        // A path outside the scope (a caller bug) is refused.
        assert_eq!(
            f.fs.size(&data, &p("/other/sibling.txt")),
            Err(BackendError::Denied)
        );
        // Directories are not files.
        assert_eq!(f.fs.size(&p("/"), &data), Err(BackendError::Io));
        assert_eq!(f.fs.read(&p("/"), &data, &mut buf), Err(BackendError::Io));
        assert_eq!(f.fs.write(&p("/"), &data, b"x"), Err(BackendError::Io));
    }

    #[test]
    fn a_scope_may_name_one_file() {
        let f = fixture();
        let file = p("/data/a.txt");
        let mut buf = [0u8; 16];
        assert_eq!(f.fs.read(&file, &file, &mut buf).unwrap(), 11);
        assert_eq!(f.fs.size(&file, &file).unwrap(), 11);
        f.fs.write(&file, &file, b"new").unwrap();
        assert_eq!(fs::read(f.root.join("data/a.txt")).unwrap(), b"new");
        // A file that does not exist yet is created in the scope's directory.
        let new = p("/data/new.pem");
        f.fs.write(&new, &new, b"pem").unwrap();
        assert_eq!(fs::read(f.root.join("data/new.pem")).unwrap(), b"pem");
        // Renamed onto from another scope.
        f.fs.rename(&p("/data"), &p("/data/new.pem"), &file, &file)
            .unwrap();
        assert_eq!(fs::read(f.root.join("data/a.txt")).unwrap(), b"pem");
        // The file's directory must exist; it is not created.
        let nested = p("/missing/x.pem");
        assert_eq!(
            f.fs.write(&nested, &nested, b"x"),
            Err(BackendError::NotFound)
        );
    }

    #[test]
    fn a_single_file_scope_never_follows_a_link() {
        let f = fixture();
        // A link in the file's place, to a sibling in the same directory and out of the root.
        symlink("sibling.txt", f.root.join("other/link.txt")).unwrap();
        symlink(f.outside.join("secret"), f.root.join("other/abs.txt")).unwrap();
        let mut buf = [0u8; 16];
        for name in ["/other/link.txt", "/other/abs.txt"] {
            let file = p(name);
            assert_eq!(f.fs.read(&file, &file, &mut buf), Err(BackendError::Denied));
            assert_eq!(
                f.fs.write(&file, &file, b"pwned"),
                Err(BackendError::Denied)
            );
            assert_eq!(f.fs.size(&file, &file), Err(BackendError::Denied));
        }
        assert_eq!(
            fs::read(f.root.join("other/sibling.txt")).unwrap(),
            b"sibling"
        );
        assert_eq!(fs::read(f.outside.join("secret")).unwrap(), b"secret");
        // A linked directory above the file is refused too.
        symlink(&f.outside, f.root.join("data/out")).unwrap();
        let through = p("/data/out/secret");
        assert_eq!(
            f.fs.read(&through, &through, &mut buf),
            Err(BackendError::Denied)
        );
    }

    #[test]
    fn symlink_out_of_root_is_refused() {
        let f = fixture();
        symlink(f.outside.join("secret"), f.root.join("data/abs")).unwrap();
        symlink("../../outside/secret", f.root.join("data/rel")).unwrap();
        let data = p("/data");
        let mut buf = [0u8; 16];
        for link in ["/data/abs", "/data/rel"] {
            assert_eq!(
                f.fs.read(&data, &p(link), &mut buf),
                Err(BackendError::Denied)
            );
            assert_eq!(f.fs.size(&data, &p(link)), Err(BackendError::Denied));
            assert_eq!(
                f.fs.write(&data, &p(link), b"pwned"),
                Err(BackendError::Denied)
            );
        }
        // Also from the root scope.
        assert_eq!(
            f.fs.read(&p("/"), &p("/data/rel"), &mut buf),
            Err(BackendError::Denied)
        );
        assert_eq!(fs::read(f.outside.join("secret")).unwrap(), b"secret");
        assert_eq!(buf, [0u8; 16]);
    }

    #[test]
    fn symlink_to_sibling_of_scope_is_refused() {
        let f = fixture();
        symlink("../other", f.root.join("data/sib")).unwrap();
        symlink("../other/sibling.txt", f.root.join("data/sibfile")).unwrap();
        let data = p("/data");
        let mut buf = [0u8; 16];
        assert_eq!(
            f.fs.read(&data, &p("/data/sib/sibling.txt"), &mut buf),
            Err(BackendError::Denied)
        );
        assert_eq!(
            f.fs.read(&data, &p("/data/sibfile"), &mut buf),
            Err(BackendError::Denied)
        );
        assert_eq!(
            f.fs.write(&data, &p("/data/sib/sibling.txt"), b"pwned"),
            Err(BackendError::Denied)
        );
        assert_eq!(
            f.fs.write(&data, &p("/data/sib/new"), b"pwned"),
            Err(BackendError::Denied)
        );
        assert_eq!(
            fs::read(f.root.join("other/sibling.txt")).unwrap(),
            b"sibling"
        );
        assert!(!f.root.join("other/new").exists());
        // From the root scope the same link stays inside and works.
        let n =
            f.fs.read(&p("/"), &p("/data/sib/sibling.txt"), &mut buf)
                .unwrap();
        assert_eq!(n, 7);
    }

    #[test]
    fn symlink_inside_scope_works() {
        let f = fixture();
        symlink("a.txt", f.root.join("data/alias")).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            f.fs.read(&p("/data"), &p("/data/alias"), &mut buf).unwrap(),
            11
        );
    }

    #[test]
    fn creating_through_symlinked_dir_out_is_refused() {
        let f = fixture();
        symlink(&f.outside, f.root.join("data/link")).unwrap();
        let data = p("/data");
        assert_eq!(
            f.fs.write(&data, &p("/data/link/new"), b"pwned"),
            Err(BackendError::Denied)
        );
        assert!(!f.outside.join("new").exists());
        assert_eq!(fs::read_dir(&f.outside).unwrap().count(), 1);
    }

    #[test]
    fn scope_that_is_a_symlink_out_is_refused() {
        let f = fixture();
        symlink(&f.outside, f.root.join("escape")).unwrap();
        let scope = p("/escape");
        let mut buf = [0u8; 16];
        assert_eq!(
            f.fs.read(&scope, &p("/escape/secret"), &mut buf),
            Err(BackendError::Denied)
        );
        assert_eq!(
            f.fs.write(&scope, &p("/escape/new"), b"x"),
            Err(BackendError::Denied)
        );
        assert!(!f.outside.join("new").exists());
    }

    #[test]
    fn hard_link_to_a_file_outside_is_refused_unless_reading_is_allowed() {
        let f = fixture();
        fs::hard_link(f.outside.join("secret"), f.root.join("data/hard")).unwrap();
        let (data, hard) = (p("/data"), p("/data/hard"));
        let mut buf = [0u8; 16];
        assert_eq!(f.fs.read(&data, &hard, &mut buf), Err(BackendError::Denied));
        assert_eq!(f.fs.size(&data, &hard), Err(BackendError::Denied));
        assert_eq!(
            f.fs.write(&data, &hard, b"pwned"),
            Err(BackendError::Denied)
        );
        assert_eq!(
            f.fs.rename(&data, &hard, &data, &p("/data/moved")),
            Err(BackendError::Denied)
        );
        // Through an in-scope symlink to it, too.
        symlink("hard", f.root.join("data/alias")).unwrap();
        assert_eq!(
            f.fs.read(&data, &p("/data/alias"), &mut buf),
            Err(BackendError::Denied)
        );
        assert_eq!(
            f.fs.write(&data, &p("/data/alias"), b"pwned"),
            Err(BackendError::Denied)
        );
        assert_eq!(buf, [0u8; 16]);
        assert_eq!(fs::read(f.outside.join("secret")).unwrap(), b"secret");
        assert!(f.root.join("data/hard").exists());

        // The opt-in reads and sizes it; writing stays refused.
        let fs = DirFilesystem::open(&f.root)
            .unwrap()
            .dangerously_allow_reading_hard_linked_files();
        assert_eq!(fs.read(&data, &hard, &mut buf), Ok(6));
        assert_eq!(&buf[..6], b"secret");
        assert_eq!(fs.size(&data, &hard), Ok(6));
        assert_eq!(fs.write(&data, &hard, b"pwned"), Err(BackendError::Denied));
        assert_eq!(fs::read(f.outside.join("secret")).unwrap(), b"secret");
        // Replacing the link's name by a rename onto it leaves the file it named alone.
        f.fs.rename(&data, &p("/data/a.txt"), &data, &hard).unwrap();
        assert_eq!(fs::read(f.root.join("data/hard")).unwrap(), b"hello world");
        assert_eq!(fs::read(f.outside.join("secret")).unwrap(), b"secret");
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        let f = fixture();
        let status = std::process::Command::new("mkfifo")
            .arg(f.root.join("data/fifo"))
            .status()
            .unwrap();
        assert!(status.success());
        let (data, fifo) = (p("/data"), p("/data/fifo"));
        let mut buf = [0u8; 4];
        assert_eq!(f.fs.read(&data, &fifo, &mut buf), Err(BackendError::Io));
        assert_eq!(f.fs.size(&data, &fifo), Err(BackendError::Io));
        assert_eq!(f.fs.write(&data, &fifo, b"x"), Err(BackendError::Io));
        // Opening it directly (past the first look) returns at once as well.
        let dir = f.fs.root.open_dir("data").unwrap();
        let file = open_nonblocking(&dir, "fifo", Access::Read).unwrap();
        assert_eq!(
            usable_file(&file.metadata().unwrap(), false),
            Err(BackendError::Io)
        );
        drop(file);
        // For writing, a FIFO without a reader fails to open (ENXIO).
        assert_eq!(
            open_nonblocking(&dir, "fifo", Access::Write).err(),
            Some(BackendError::Io)
        );
    }

    #[test]
    fn rename_within_scope() {
        let f = fixture();
        fs::create_dir(f.root.join("data/sub")).unwrap();
        let data = p("/data");
        f.fs.rename(&data, &p("/data/a.txt"), &data, &p("/data/sub/b.txt"))
            .unwrap();
        assert!(!f.root.join("data/a.txt").exists());
        assert_eq!(
            fs::read(f.root.join("data/sub/b.txt")).unwrap(),
            b"hello world"
        );
        // Across scopes.
        let other = p("/other");
        f.fs.rename(
            &data,
            &p("/data/sub/b.txt"),
            &other,
            &p("/other/sibling.txt"),
        )
        .unwrap();
        assert_eq!(
            fs::read(f.root.join("other/sibling.txt")).unwrap(),
            b"hello world"
        );
        assert_eq!(
            f.fs.rename(&data, &p("/data/missing"), &data, &p("/data/x")),
            Err(BackendError::NotFound)
        );
    }

    #[test]
    fn rename_into_symlinked_dir_out_is_refused() {
        let f = fixture();
        symlink(&f.outside, f.root.join("data/link")).unwrap();
        symlink("../other", f.root.join("data/sib")).unwrap();
        let data = p("/data");
        assert_eq!(
            f.fs.rename(&data, &p("/data/a.txt"), &data, &p("/data/link/stolen")),
            Err(BackendError::Denied)
        );
        assert_eq!(
            f.fs.rename(&data, &p("/data/a.txt"), &data, &p("/data/sib/stolen")),
            Err(BackendError::Denied)
        );
        assert_eq!(
            f.fs.rename(&data, &p("/data/link/secret"), &data, &p("/data/got")),
            Err(BackendError::Denied)
        );
        assert!(f.root.join("data/a.txt").exists());
        assert!(!f.outside.join("stolen").exists());
        assert!(!f.root.join("other/stolen").exists());
        assert!(f.outside.join("secret").exists());
    }
}
